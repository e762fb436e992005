"""Geo commands compared reply for reply with a redis-server 7.0 started next to the lfdb-server
under test, in RESP2 and RESP3: cells (GEOADD's scores), GEOHASH strings, GEOPOS coordinates,
GEODIST in every unit, searches by radius and by box from coordinates and from members with
every WITH option, COUNT, ANY with a COUNT that takes everything, ASC/DESC, STORE/STOREDIST,
and the errors. test_cell_order compares the orders Redis leaves to its geohash cell scan
(unsorted results, ANY cutting short) exactly: near the poles, across the antimeridian, radii
and boxes from metres to the whole world, over both sorted set encodings."""

import random
import unittest

from lfdb_testlib import RawConnection, SideBySideTestCase, is_lfdb

PLACES = [
    ("13.361389", "38.115556", "Palermo"), ("15.087269", "37.502669", "Catania"),
    ("12.758489", "38.788135", "edge1"), ("17.241510", "38.788135", "edge2"),
    ("-73.9454966", "40.747533", "lic market"), ("-73.9733487", "40.7648057", "central park n/q/r"),
    ("-73.9903085", "40.7362513", "union square"), ("-74.0131604", "40.7126674", "wtc one"),
    ("-73.7858139", "40.6428986", "jfk"), ("-73.9375699", "40.7498929", "q4"),
    ("-73.9564142", "40.7480973", 4545), ("179.9999", "85.0511", "corner"), ("-180", "-85.05112878", "far"),
    ("0", "0", "origin"),
]


@unittest.skipUnless(is_lfdb(), "compares lfdb-server with redis-server")
class GeoDifferentialTest(SideBySideTestCase):
    def compare(self, cmds, unordered=False):
        for proto in ("2", "3"):
            with RawConnection(self.peer.port) as pc, RawConnection(self.lfdb.port) as lc:
                for c in (pc, lc):
                    c.command("HELLO", proto)
                    c.command("FLUSHALL")
                    c.command("GEOADD", "g", *[str(x) for p in PLACES for x in p])
                for cmd in cmds:
                    want, got = pc.command(*cmd), lc.command(*cmd)
                    if unordered and isinstance(want, list):
                        want, got = sorted(map(repr, want)), sorted(map(repr, got))
                    self.assertEqual(got, want, "RESP%s: %r" % (proto, cmd))

    def test_points(self):
        names = [str(p[2]) for p in PLACES]
        self.compare([["ZRANGE", "g", "0", "-1", "WITHSCORES"], ["GEOHASH", "g"] + names + ["nope"],
                      ["GEOPOS", "g"] + names + ["nope"], ["GEOPOS", "missing", "a"],
                      ["GEOHASH", "missing", "a"], ["GEODIST", "g", "Palermo", "Catania"],
                      ["GEODIST", "g", "Palermo", "Catania", "km"], ["GEODIST", "g", "wtc one", "jfk", "mi"],
                      ["GEODIST", "g", "corner", "far", "ft"], ["GEODIST", "g", "Palermo", "nope"],
                      ["GEODIST", "g", "Palermo", "Catania", "parsec"], ["GEODIST", "g", "a", "b", "km", "x"],
                      ["GEOADD", "g", "NX", "CH", "13.4", "38.1", "Palermo", "1", "1", "new"],
                      ["GEOADD", "g", "XX", "CH", "13.4", "38.1", "Palermo", "1", "1", "new2"],
                      ["GEOADD", "g", "XX", "NX", "1", "1", "x"], ["GEOADD", "g", "1", "1"],
                      ["GEOADD", "g", "200", "100", "x"], ["GEOADD", "g", "1", "nan?", "x"],
                      ["SET", "str", "v"], ["GEOADD", "str", "1", "1", "x"], ["GEOPOS", "str", "x"]])

    def test_searches(self):
        cmds = []
        for frm in (["FROMLONLAT", "-73.9798091", "40.7598464"], ["FROMMEMBER", "q4"],
                    ["FROMLONLAT", "15", "37"]):
            for by in (["BYRADIUS", "3", "km"], ["BYRADIUS", "200", "km"], ["BYBOX", "6", "6", "km"],
                       ["BYBOX", "400", "100", "mi"], ["BYRADIUS", "0", "m"]):
                for opts in (["ASC"], ["DESC", "WITHDIST"], ["WITHCOORD", "WITHHASH", "WITHDIST", "ASC"],
                             ["COUNT", "2"], ["COUNT", "2", "DESC", "WITHDIST"], ["ASC", "COUNT", "100", "ANY"]):
                    cmds.append(["GEOSEARCH", "g"] + frm + by + opts)
                cmds.append(["GEOSEARCHSTORE", "dst", "g"] + frm + by + ["ASC", "STOREDIST"])
                cmds.append(["ZRANGE", "dst", "0", "-1", "WITHSCORES"])
                cmds.append(["GEOSEARCHSTORE", "dst", "g"] + frm + by + ["COUNT", "3"])
                cmds.append(["ZRANGE", "dst", "0", "-1", "WITHSCORES"])
        cmds += [["GEORADIUS", "g", "15", "37", "200", "km", "WITHDIST", "ASC"],
                 ["GEORADIUS", "g", "15", "37", "200", "km", "STORE", "r1"], ["ZRANGE", "r1", "0", "-1", "WITHSCORES"],
                 ["GEORADIUS", "g", "15", "37", "200", "km", "STOREDIST", "r2"], ["ZRANGE", "r2", "0", "-1", "WITHSCORES"],
                 ["GEORADIUSBYMEMBER", "g", "Palermo", "300", "km", "ASC", "WITHCOORD"],
                 ["GEORADIUSBYMEMBER_RO", "g", "wtc one", "10", "km", "DESC", "COUNT", "3"],
                 ["GEORADIUS_RO", "g", "15", "37", "200", "km", "ASC"],
                 ["GEORADIUS_RO", "g", "15", "37", "200", "km", "STORE", "x"],
                 ["GEORADIUS", "missing", "15", "37", "200", "km", "STORE", "r1"], ["EXISTS", "r1"],
                 ["GEOSEARCH", "missing", "FROMMEMBER", "x", "BYRADIUS", "1", "km"],
                 ["GEORADIUSBYMEMBER", "g", "nope", "1", "km"],
                 ["GEOSEARCH", "g", "FROMMEMBER", "nope", "BYRADIUS", "1", "km"],
                 ["GEOSEARCH", "g", "BYRADIUS", "1", "km"], ["GEOSEARCH", "g", "FROMMEMBER", "q4"],
                 ["GEOSEARCH", "g", "FROMMEMBER", "q4", "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km"],
                 ["GEOSEARCH", "g", "FROMMEMBER", "q4", "BYRADIUS", "1", "km", "BYBOX", "1", "1", "km"],
                 ["GEOSEARCH", "g", "FROMMEMBER", "q4", "BYRADIUS", "-1", "km"],
                 ["GEOSEARCH", "g", "FROMMEMBER", "q4", "BYBOX", "-1", "1", "km"],
                 ["GEOSEARCH", "g", "FROMMEMBER", "q4", "BYRADIUS", "x", "km"],
                 ["GEOSEARCH", "g", "FROMMEMBER", "q4", "BYRADIUS", "1", "parsec"],
                 ["GEOSEARCH", "g", "FROMMEMBER", "q4", "BYRADIUS", "1", "km", "ANY"],
                 ["GEOSEARCH", "g", "FROMMEMBER", "q4", "BYRADIUS", "1", "km", "COUNT", "0"],
                 ["GEOSEARCH", "g", "FROMMEMBER", "q4", "BYRADIUS", "1", "km", "STOREDIST"],
                 ["GEOSEARCHSTORE", "d", "g", "FROMMEMBER", "q4", "BYRADIUS", "1", "km", "WITHDIST"],
                 ["GEORADIUS", "g", "1", "1", "1", "km", "STORE", "d", "WITHHASH"],
                 ["GEORADIUS", "g", "1", "1", "1", "km", "COUNT"], ["GEORADIUS", "g", "1", "1", "1"],
                 ["SET", "str", "v"], ["GEOSEARCH", "str", "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km"]]
        self.compare(cmds)
        self.compare([["GEOSEARCH", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "300", "km"],
                      ["GEORADIUS", "g", "-73.98", "40.75", "50", "km", "WITHDIST"]], unordered=True)

    def test_random_searches(self):
        rnd = random.Random(11)
        cmds = []
        for _ in range(300):
            lon, lat = rnd.uniform(-180, 180), rnd.uniform(-85, 85)
            cmds.append(["GEOADD", "g", "%.6f" % lon, "%.6f" % lat, "p%d" % len(cmds)])
        for _ in range(100):
            lon, lat = "%.5f" % rnd.uniform(-180, 180), "%.5f" % rnd.uniform(-85, 85)
            if rnd.random() < 0.5:
                by = ["BYRADIUS", str(rnd.choice([100, 1000, 5000])), "km"]
            else:
                by = ["BYBOX", str(rnd.choice([500, 3000])), str(rnd.choice([500, 3000])), "km"]
            cmds.append(["GEOSEARCH", "g", "FROMLONLAT", lon, lat] + by + ["ASC", "WITHDIST", "WITHHASH"])
        self.compare(cmds)

    def test_cell_order(self):
        # Points clustered where the cell choice is delicate (the poles' last rows, both sides
        # of the antimeridian, the equator and the prime meridian) plus a spread over the world;
        # then searches with no ASC/DESC (replies in the order the cells are visited) and ANY
        # with a small COUNT (which cells are read first decides who is in the reply).
        rnd = random.Random(13)
        centres = [(179.9, 84.9), (-179.9, -84.9), (179.95, 0.1), (-179.95, -0.1), (0.01, 0.01),
                   (13.36, 38.11), (-0.05, 60.0), (120.0, -70.0), (-45.0, 81.0)]

        def points(n_spread, n_near):
            add = []
            for i in range(n_spread):
                add += ["%.6f" % rnd.uniform(-180, 180), "%.6f" % rnd.uniform(-85.05, 85.05), "s%d" % i]
            for k, (lon, lat) in enumerate(centres):
                for i in range(n_near):
                    plon = lon + rnd.uniform(-2, 2)
                    plon = plon - 360 if plon > 180 else (plon + 360 if plon < -180 else plon)
                    plat = max(-85.05, min(85.05, lat + rnd.uniform(-1.5, 1.5)))
                    add += ["%.6f" % plon, "%.6f" % plat, "c%d_%d" % (k, i)]
            return add

        searches = []
        for lon, lat in centres + [(180, 85.05112878), (-180, -85.05112878), (0, 0)]:
            frm = ["FROMLONLAT", repr(lon), repr(lat)]
            for by in (["BYRADIUS", "1", "m"], ["BYRADIUS", "50", "km"], ["BYRADIUS", "300", "km"],
                       ["BYRADIUS", "2500", "km"], ["BYRADIUS", "9000", "km"], ["BYRADIUS", "20000", "km"],
                       ["BYBOX", "100", "400", "km"], ["BYBOX", "900", "60", "km"], ["BYBOX", "20000", "5000", "mi"]):
                searches.append(["GEOSEARCH", "g"] + frm + by)
                searches.append(["GEOSEARCH", "g"] + frm + by + ["WITHDIST", "WITHHASH"])
                searches.append(["GEOSEARCH", "g"] + frm + by + ["COUNT", "3", "ANY"])
                searches.append(["GEOSEARCH", "g"] + frm + by + ["COUNT", "5", "ANY", "DESC"])
                searches.append(["GEOSEARCHSTORE", "d", "g"] + frm + by + ["COUNT", "4", "ANY", "STOREDIST"])
                searches.append(["ZRANGE", "d", "0", "-1", "WITHSCORES"])
        for member in ("c0_0", "c1_0", "c2_0", "c3_0", "s0"):
            for radius in ("10", "500", "3000", "15000"):
                searches.append(["GEORADIUSBYMEMBER", "g", member, radius, "km"])
                searches.append(["GEORADIUSBYMEMBER_RO", "g", member, radius, "km", "COUNT", "2", "ANY"])
        searches.append(["GEORADIUS", "g", "179.99", "-85", "700", "km", "WITHCOORD"])
        # A small set stays in the packed encoding; a big one is a skip list.
        for n_spread, n_near in ((40, 8), (1500, 120)):
            add = points(n_spread, n_near)
            self.compare([["DEL", "g"], ["GEOADD", "g"] + add, ["OBJECT", "ENCODING", "g"]] + searches)

    def test_unsorted_fixed_set(self):
        self.compare([["GEOSEARCH", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "300", "km"],
                      ["GEORADIUS", "g", "-73.98", "40.75", "50", "km", "WITHDIST"],
                      ["GEORADIUS", "g", "0", "0", "20000", "km"],
                      ["GEOSEARCH", "g", "FROMMEMBER", "corner", "BYBOX", "20000", "20000", "km"]])


if __name__ == "__main__":
    unittest.main()

"""INFO latencystats under latency-tracking and latency-tracking-info-percentiles, side by side
with redis-server: a call timed while tracking is off is not listed, and the percentiles shown
are the ones configured (p0 the fastest call's)."""
import re
import unittest

import redis

from lfdb_testlib import RawConnection, SideBySideTestCase


def percentiles_of(r, command):
    """The percentile names INFO latencystats lists for `command` ("" when it is not listed)."""
    c = RawConnection(r.connection_pool.connection_kwargs["port"])
    text = c.command("INFO", "latencystats").decode()
    c.close()
    m = re.search(r"^latency_percentiles_usec_%s:(.*?)\r?$" % command, text, re.M)
    if not m:
        return ""
    return ",".join(part.split("=")[0] for part in m.group(1).strip().split(","))


class LatencyStatsTest(SideBySideTestCase):
    def test_tracking_off_and_on_and_the_percentiles_shown(self):
        seen = {}
        for kind, server in self.servers.items():
            with self.subTest(server=kind):
                r = redis.Redis(host="127.0.0.1", port=server.port, decode_responses=True)
                steps = []
                r.config_resetstat()
                r.config_set("latency-tracking", "no")
                r.set("a", "b")
                steps.append(percentiles_of(r, "set"))
                r.config_set("latency-tracking", "yes")
                r.set("a", "b")
                steps.append(percentiles_of(r, "set"))
                r.config_set("latency-tracking-info-percentiles", "0.0 50.0 100.0")
                steps.append(r.config_get("latency-tracking-info-percentiles"))
                steps.append(percentiles_of(r, "set"))
                r.config_set("latency-tracking-info-percentiles", "50 99 99.9")
                r.config_resetstat()
                steps.append(percentiles_of(r, "set"))
                seen[kind] = steps
                self.assertEqual(steps, ["", "p50,p99,p99.9",
                                         {"latency-tracking-info-percentiles": "0 50 100"},
                                         "p0,p50,p100", ""])
                r.close()
        self.assertEqual(seen["lfdb"], seen["redis"])


if __name__ == "__main__":
    unittest.main()

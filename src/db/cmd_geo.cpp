// Geo: GEOADD GEODIST GEOHASH GEOPOS GEOSEARCH GEOSEARCHSTORE GEORADIUS GEORADIUSBYMEMBER (and
// their _RO forms) over sorted sets, as Redis 7.0 keeps them: a member's score is its position
// as a 52-bit geohash (26 bits of latitude in the even bits, 26 of longitude in the odd ones,
// over Web Mercator's latitude range), decoded to the centre of its cell; distances are the
// haversine over a sphere of radius 6372797.560856 m, so every distance, hash and coordinate is
// the number Redis gives.
//
// A search reads only the geohash cells around the shape (geo/geohash_cells.hpp: the centre's
// cell and its ring at a step sized from the radius or box), each a score range of the sorted
// set, O(log N + M), and applies the exact distance or box test to the members found there.
// The cells are Redis's in Redis's order, so unsorted results, and ANY's first COUNT, are the
// ones Redis gives.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "db/command_context.hpp"
#include "db/geo/geohash_cells.hpp"
#include "db/pubsub/notify.hpp"
#include "db/zset.hpp"

namespace lfdb::db {
namespace {

using geo::kDegToRad;
using geo::kEarthRadius;
using geo::kLatMax;
using geo::kLatMin;
using geo::kLonMax;
using geo::kLonMin;

struct Point {
  double lon = 0, lat = 0;
};

// The centre of a score's cell, clamped into the valid range.
Point decode(double score) {
  const geo::Area a = geo::area_of(geo::Cell{static_cast<std::uint64_t>(score), geo::kMaxStep});
  Point p{(a.lon_min + a.lon_max) / 2, (a.lat_min + a.lat_max) / 2};
  p.lon = std::clamp(p.lon, kLonMin, kLonMax);
  p.lat = std::clamp(p.lat, kLatMin, kLatMax);
  return p;
}

double lat_distance(double lat1, double lat2) { return kEarthRadius * std::fabs(lat2 * kDegToRad - lat1 * kDegToRad); }

double distance(double lon1, double lat1, double lon2, double lat2) {
  const double v = std::sin((lon2 * kDegToRad - lon1 * kDegToRad) / 2);
  if (v == 0.0) return lat_distance(lat1, lat2);  // the same meridian: as Redis shortcuts it
  const double lat1r = lat1 * kDegToRad, lat2r = lat2 * kDegToRad;
  const double u = std::sin((lat2r - lat1r) / 2);
  const double a = u * u + std::cos(lat1r) * std::cos(lat2r) * v * v;
  return 2.0 * kEarthRadius * std::asin(std::sqrt(a));
}

std::string distance_text(double d) {
  char buf[128];
  const int n = std::snprintf(buf, sizeof buf, "%.4f", d);
  return std::string(buf, static_cast<std::size_t>(n));
}

// A coordinate as Redis's human long double: a bulk string in RESP2, a double in RESP3.
void coordinate(CommandContext& c, double v) {
  const std::string text = format_long_double(v);
  if (!c.out.resp3()) return c.out.bulk(text);
  c.out.raw("," + text + "\r\n");
}

// "lon lat" at argv[i], checked; false with the error written.
bool parse_lon_lat(CommandContext& c, std::size_t i, Point& p) {
  if (!parse_double(c.arg(i), p.lon) || !parse_double(c.arg(i + 1), p.lat)) {
    c.out.error(kErrNotFloat);
    return false;
  }
  if (p.lon < kLonMin || p.lon > kLonMax || p.lat < kLatMin || p.lat > kLatMax) {
    char buf[200];
    std::snprintf(buf, sizeof buf, "ERR invalid longitude,latitude pair %f,%f", p.lon, p.lat);
    c.out.error(buf);
    return false;
  }
  return true;
}

// Meters per unit; nullopt (error written) for an unknown unit.
std::optional<double> unit_of(CommandContext& c, std::string_view u) {
  if (iequal(u, "m")) return 1.0;
  if (iequal(u, "km")) return 1000.0;
  if (iequal(u, "ft")) return 0.3048;
  if (iequal(u, "mi")) return 1609.34;
  c.out.error("ERR unsupported unit provided. please use M, KM, FT, MI");
  return std::nullopt;
}

const ZSet* zset_or_error(CommandContext& c, std::string_view key, bool& failed) {
  failed = false;
  const Entry* e = c.find(key);
  if (e == nullptr) return nullptr;
  if (e->value.type() != Type::kZSet) {
    failed = true;
    c.out.error(kErrWrongType);
    return nullptr;
  }
  return e->value.zset();
}

std::optional<Point> member_point(const ZSet* z, std::string_view member) {
  if (z == nullptr) return std::nullopt;
  ZSet::Ref n = z->find(member);
  if (!n) return std::nullopt;
  return decode(n.score());
}

// GEOADD key [NX|XX] [CH] longitude latitude member [...]: ZADD with the members' cells.
void geoadd_cmd(CommandContext& c) {
  std::size_t first = 2;
  bool nx = false, xx = false;
  std::vector<std::string_view> zadd = {"zadd", c.arg(1)};
  for (; first < c.argc(); ++first) {
    const std::string_view o = c.arg(first);
    if (iequal(o, "nx")) nx = true;
    else if (iequal(o, "xx")) xx = true;
    else if (!iequal(o, "ch")) break;
    zadd.push_back(o);
  }
  if ((c.argc() - first) % 3 != 0 || (nx && xx)) return c.out.error(kErrSyntax);
  std::vector<std::string> scores;
  scores.reserve((c.argc() - first) / 3);
  for (std::size_t i = first; i < c.argc(); i += 3) {
    Point p;
    if (!parse_lon_lat(c, i, p)) return;
    scores.push_back(format_int(static_cast<std::int64_t>(geo::cell_of(p.lon, p.lat, geo::kMaxStep).bits)));
  }
  for (std::size_t i = first, k = 0; i < c.argc(); i += 3, ++k) {
    zadd.push_back(scores[k]);
    zadd.push_back(c.arg(i + 2));
  }
  CommandContext z = c;
  z.argv = zadd;
  run_zadd(z);
}

void geodist_cmd(CommandContext& c) {
  double to_m = 1;
  if (c.argc() == 5) {
    const std::optional<double> u = unit_of(c, c.arg(4));
    if (!u) return;
    to_m = *u;
  } else if (c.argc() > 5) {
    return c.out.error(kErrSyntax);
  }
  bool failed = false;
  const ZSet* z = zset_or_error(c, c.arg(1), failed);
  if (failed) return;
  const std::optional<Point> a = member_point(z, c.arg(2)), b = member_point(z, c.arg(3));
  if (!a || !b) return c.out.null();
  c.out.bulk(distance_text(distance(a->lon, a->lat, b->lon, b->lat) / to_m));
}

void geohash_cmd(CommandContext& c) {
  static constexpr char kAlphabet[] = "0123456789bcdefghjkmnpqrstuvwxyz";
  bool failed = false;
  const ZSet* z = zset_or_error(c, c.arg(1), failed);
  if (failed) return;
  c.out.array_header(c.argc() - 2);
  for (std::size_t i = 2; i < c.argc(); ++i) {
    const std::optional<Point> p = member_point(z, c.arg(i));
    if (!p) {
      c.out.null();
      continue;
    }
    // The standard geohash: latitude over ±90, re-encoded from the cell's centre; 11 characters
    // of 5 bits from 52 (the last one is 0).
    const std::uint64_t bits = geo::cell_of(p->lon, p->lat, geo::kMaxStep, -90, 90).bits;
    char buf[11];
    for (int k = 0; k < 11; ++k) {
      const unsigned idx = k == 10 ? 0 : static_cast<unsigned>((bits >> (52 - (k + 1) * 5)) & 0x1f);
      buf[k] = kAlphabet[idx];
    }
    c.out.bulk(std::string_view(buf, 11));
  }
}

void geopos_cmd(CommandContext& c) {
  bool failed = false;
  const ZSet* z = zset_or_error(c, c.arg(1), failed);
  if (failed) return;
  c.out.array_header(c.argc() - 2);
  for (std::size_t i = 2; i < c.argc(); ++i) {
    const std::optional<Point> p = member_point(z, c.arg(i));
    if (!p) {
      c.out.null_array();
      continue;
    }
    c.out.array_header(2);
    coordinate(c, p->lon);
    coordinate(c, p->lat);
  }
}

// ---- searches ----------------------------------------------------------------------------

enum SearchForm : unsigned {
  kByCoords = 1,    // GEORADIUS key lon lat radius unit ...
  kByMember = 2,    // GEORADIUSBYMEMBER key member radius unit ...
  kSearch = 4,      // GEOSEARCH key FROM... BY... ...
  kSearchStore = 8, // GEOSEARCHSTORE dest key FROM... BY... ...
  kNoStore = 16,    // the _RO forms
};

struct Found {
  std::string_view member;
  double score = 0;
  double dist = 0;  // meters, then in the unit
  Point at;
};

void search_generic(CommandContext& c, unsigned form) {
  const std::size_t src = (form & kSearchStore) ? 2 : 1;
  bool failed = false;
  const ZSet* z = zset_or_error(c, c.arg(src), failed);
  if (failed) return;

  Point center;
  bool box = false;
  double radius = 0, width = 0, height = 0, to_m = 1;
  auto read_radius = [&](std::size_t i) {
    if (!parse_double(c.arg(i), radius)) return c.out.error("ERR need numeric radius"), false;
    if (radius < 0) return c.out.error("ERR radius cannot be negative"), false;
    const std::optional<double> u = unit_of(c, c.arg(i + 1));
    if (!u) return false;
    to_m = *u;
    return true;
  };
  std::size_t base = 0;
  if (form & kByCoords) {
    base = 6;
    if (!parse_lon_lat(c, 2, center) || !read_radius(4)) return;
  } else if (form & kByMember) {
    base = 5;
    if (z != nullptr) {
      const std::optional<Point> p = member_point(z, c.arg(2));
      if (!p) return c.out.error("ERR could not decode requested zset member");
      center = *p;
      if (!read_radius(3)) return;
    }
  } else {
    base = (form & kSearchStore) ? 3 : 2;
  }

  bool withdist = false, withhash = false, withcoord = false, any = false;
  bool from_member = false, from_lonlat = false, by_radius = false, by_box = false;
  int sort = 0;  // 0 none, 1 asc, -1 desc
  std::int64_t count = 0;
  std::optional<std::string_view> store;
  bool storedist = false;
  if (form & kSearchStore) store = c.arg(1);
  for (std::size_t i = base; i < c.argc(); ++i) {
    const std::string_view o = c.arg(i);
    const std::size_t left = c.argc() - i - 1;
    const bool search = (form & (kSearch | kSearchStore)) != 0;
    const bool may_store = !(form & kNoStore) && !search;
    if (iequal(o, "withdist")) {
      withdist = true;
    } else if (iequal(o, "withhash")) {
      withhash = true;
    } else if (iequal(o, "withcoord")) {
      withcoord = true;
    } else if (iequal(o, "any")) {
      any = true;
    } else if (iequal(o, "asc")) {
      sort = 1;
    } else if (iequal(o, "desc")) {
      sort = -1;
    } else if (iequal(o, "count") && left >= 1) {
      if (!parse_int(c.arg(i + 1), count)) return c.out.error(kErrNotInteger);
      if (count <= 0) return c.out.error("ERR COUNT must be > 0");
      ++i;
    } else if ((iequal(o, "store") || iequal(o, "storedist")) && left >= 1 && may_store) {
      store = c.arg(++i);
      storedist = iequal(o, "storedist");
    } else if (iequal(o, "storedist") && (form & kSearchStore)) {
      storedist = true;
    } else if (iequal(o, "frommember") && left >= 1 && search && !from_lonlat) {
      from_member = true;
      if (z != nullptr) {
        const std::optional<Point> p = member_point(z, c.arg(i + 1));
        if (!p) return c.out.error("ERR could not decode requested zset member");
        center = *p;
      }
      ++i;
    } else if (iequal(o, "fromlonlat") && left >= 2 && search && !from_member) {
      if (!parse_lon_lat(c, i + 1, center)) return;
      from_lonlat = true;
      i += 2;
    } else if (iequal(o, "byradius") && left >= 2 && search && !by_box) {
      if (!read_radius(i + 1)) return;
      by_radius = true;
      i += 2;
    } else if (iequal(o, "bybox") && left >= 3 && search && !by_radius) {
      if (!parse_double(c.arg(i + 1), width)) return c.out.error("ERR need numeric width");
      if (!parse_double(c.arg(i + 2), height)) return c.out.error("ERR need numeric height");
      if (width < 0 || height < 0) return c.out.error("ERR height or width cannot be negative");
      const std::optional<double> u = unit_of(c, c.arg(i + 3));
      if (!u) return;
      to_m = *u;
      box = by_box = true;
      i += 3;
    } else {
      return c.out.error(kErrSyntax);
    }
  }
  const std::string name(c.spec->name);
  if (store && (withdist || withhash || withcoord)) {
    return c.out.error(std::string("ERR ") + ((form & kSearchStore) ? "GEOSEARCHSTORE" : "STORE option in GEORADIUS") +
                       " is not compatible with WITHDIST, WITHHASH and WITHCOORD options");
  }
  if ((form & (kSearch | kSearchStore)) && !(from_member || from_lonlat)) {
    return c.out.error("ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for " + name);
  }
  if ((form & (kSearch | kSearchStore)) && !(by_radius || by_box)) {
    return c.out.error("ERR exactly one of BYRADIUS and BYBOX can be specified for " + name);
  }
  if (any && count == 0) return c.out.error("ERR the ANY argument requires COUNT argument");

  auto store_result = [&](const std::vector<Found>& found, std::size_t n) {
    Partition& p = c.part(*store);
    auto out = std::make_unique<ZSet>();
    for (std::size_t i = 0; i < n; ++i) out->set(found[i].member, storedist ? found[i].dist : found[i].score);
    const bool existed = p.erase(*store, c.now_ms);
    if (!out->empty()) {
      bool created = false;
      Entry& e = p.find_or_create(*store, c.now_ms, created);
      e.value.reset(std::move(out));
      p.modified(*store);
      pubsub::event(pubsub::kEvZset, (form & kSearchStore) ? "geosearchstore" : "georadiusstore", *store);
    } else if (existed) {
      pubsub::event(pubsub::kEvGeneric, "del", *store);
    }
    c.out.integer(static_cast<std::int64_t>(n));
  };
  if (z == nullptr) {
    if (store) return store_result({}, 0);
    return c.out.array_header(0);
  }
  if (count != 0 && sort == 0 && !any) sort = 1;

  // The cells around the shape, each a range of scores, in Redis's order; within one, the
  // same exact test as every member would get. ANY stops at the COUNTth match.
  const geo::Shape shape{center.lon, center.lat, box, radius, width, height, to_m};
  const std::size_t limit = any ? static_cast<std::size_t>(count) : 0;
  std::vector<Found> found;
  for (const geo::Cell& cell : geo::search_cells(shape)) {
    if (limit != 0 && found.size() >= limit) break;
    const geo::ScoreSpan span = geo::score_span(cell);
    const ScoreRange range{static_cast<double>(span.lo), static_cast<double>(span.hi), false, true};
    for (ZSet::Ref n = z->first_in(range); n && range.below_max(n.score()); n = n.next()) {
      const Point at = decode(n.score());
      double d = 0;
      if (box) {
        if (lat_distance(at.lat, center.lat) > height * to_m / 2) continue;
        if (distance(at.lon, at.lat, center.lon, at.lat) > width * to_m / 2) continue;
        d = distance(center.lon, center.lat, at.lon, at.lat);
      } else {
        d = distance(center.lon, center.lat, at.lon, at.lat);
        if (d > radius * to_m) continue;
      }
      found.push_back(Found{n.member(), n.score(), d, at});
      if (limit != 0 && found.size() >= limit) break;
    }
  }
  if (sort != 0) {
    std::stable_sort(found.begin(), found.end(), [&](const Found& a, const Found& b) {
      return sort > 0 ? a.dist < b.dist : a.dist > b.dist;
    });
  }
  const std::size_t n = count == 0 ? found.size() : std::min<std::size_t>(found.size(), static_cast<std::size_t>(count));
  for (std::size_t i = 0; i < n; ++i) found[i].dist /= to_m;
  if (store) return store_result(found, n);
  const std::size_t extras = (withdist ? 1 : 0) + (withhash ? 1 : 0) + (withcoord ? 1 : 0);
  c.out.array_header(n);
  for (std::size_t i = 0; i < n; ++i) {
    const Found& f = found[i];
    if (extras != 0) c.out.array_header(extras + 1);
    c.out.bulk(f.member);
    if (withdist) c.out.bulk(distance_text(f.dist));
    if (withhash) c.out.integer(static_cast<std::int64_t>(f.score));
    if (withcoord) {
      c.out.array_header(2);
      coordinate(c, f.at.lon);
      coordinate(c, f.at.lat);
    }
  }
}

void georadius_cmd(CommandContext& c) { search_generic(c, kByCoords); }
void georadius_ro_cmd(CommandContext& c) { search_generic(c, kByCoords | kNoStore); }
void georadiusbymember_cmd(CommandContext& c) { search_generic(c, kByMember); }
void georadiusbymember_ro_cmd(CommandContext& c) { search_generic(c, kByMember | kNoStore); }
void geosearch_cmd(CommandContext& c) { search_generic(c, kSearch); }
void geosearchstore_cmd(CommandContext& c) { search_generic(c, kSearchStore); }

constexpr HandlerEntry kGeoHandlers[] = {
    {"geoadd", geoadd_cmd},
    {"geodist", geodist_cmd},
    {"geohash", geohash_cmd},
    {"geopos", geopos_cmd},
    {"georadius", georadius_cmd},
    {"georadius_ro", georadius_ro_cmd},
    {"georadiusbymember", georadiusbymember_cmd},
    {"georadiusbymember_ro", georadiusbymember_ro_cmd},
    {"geosearch", geosearch_cmd},
    {"geosearchstore", geosearchstore_cmd},
};

}  // namespace

std::span<const HandlerEntry> geo_handlers() { return kGeoHandlers; }

}  // namespace lfdb::db

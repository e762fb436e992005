// The geohash grid and the cells a search visits (geohash_cells.hpp). Every comparison here
// decides which members a search sees and in which order, so the arithmetic is done in the
// order Redis 7.0 does it: a different rounding at a cell's edge would add or drop a cell.
#include "db/geo/geohash_cells.hpp"

#include <cmath>

namespace lfdb::db::geo {
namespace {

constexpr std::uint64_t kEven = 0x5555555555555555ULL;  // latitude's bits

std::uint64_t spread(std::uint32_t v) {  // v's bits into the even positions of 64
  std::uint64_t x = v;
  x = (x | (x << 16)) & 0x0000FFFF0000FFFFULL;
  x = (x | (x << 8)) & 0x00FF00FF00FF00FFULL;
  x = (x | (x << 4)) & 0x0F0F0F0F0F0F0F0FULL;
  x = (x | (x << 2)) & 0x3333333333333333ULL;
  x = (x | (x << 1)) & kEven;
  return x;
}

std::uint32_t gather(std::uint64_t x) {  // the even bits of x, packed
  x &= kEven;
  x = (x | (x >> 1)) & 0x3333333333333333ULL;
  x = (x | (x >> 2)) & 0x0F0F0F0F0F0F0F0FULL;
  x = (x | (x >> 4)) & 0x00FF00FF00FF00FFULL;
  x = (x | (x >> 8)) & 0x0000FFFF0000FFFFULL;
  x = (x | (x >> 16)) & 0x00000000FFFFFFFFULL;
  return static_cast<std::uint32_t>(x);
}

// One coordinate's index moved by d (-1, 0, 1) modulo the grid's 2^step rows or columns.
std::uint32_t wrap(std::uint32_t i, int d, int step) {
  const std::uint64_t n = 1ULL << step;
  return static_cast<std::uint32_t>((i + n + static_cast<std::uint64_t>(static_cast<std::int64_t>(d))) % n);
}

// The radius the cells must cover: the circle's, or the box's centre-to-corner distance.
double reach_m(const Shape& s) {
  if (!s.box) return s.radius * s.to_m;
  return std::sqrt((s.width / 2) * (s.width / 2) + (s.height / 2) * (s.height / 2)) * s.to_m;
}

}  // namespace

Cell cell_of(double lon, double lat, int step, double lat_min, double lat_max) {
  double lat_off = (lat - lat_min) / (lat_max - lat_min);
  double lon_off = (lon - kLonMin) / (kLonMax - kLonMin);
  lat_off *= static_cast<double>(1ULL << step);
  lon_off *= static_cast<double>(1ULL << step);
  return Cell{spread(static_cast<std::uint32_t>(lat_off)) | (spread(static_cast<std::uint32_t>(lon_off)) << 1), step};
}

Area area_of(Cell c) {
  const std::uint32_t ilat = gather(c.bits), ilon = gather(c.bits >> 1);
  const double cells = static_cast<double>(1ULL << c.step);
  const double lat_scale = kLatMax - kLatMin, lon_scale = kLonMax - kLonMin;
  Area a;
  a.lat_min = kLatMin + (ilat * 1.0 / cells) * lat_scale;
  a.lat_max = kLatMin + ((ilat + 1) * 1.0 / cells) * lat_scale;
  a.lon_min = kLonMin + (ilon * 1.0 / cells) * lon_scale;
  a.lon_max = kLonMin + ((ilon + 1) * 1.0 / cells) * lon_scale;
  return a;
}

Cell neighbour(Cell c, int dlon, int dlat) {
  // An axis that does not move keeps its bits as they are (a coordinate on the grid's top or
  // east edge encodes one past the last row or column; only a move brings it back in range).
  std::uint64_t lat_bits = c.bits & kEven, lon_bits = c.bits & ~kEven;
  if (dlat != 0) lat_bits = spread(wrap(gather(c.bits), dlat, c.step));
  if (dlon != 0) lon_bits = spread(wrap(gather(c.bits >> 1), dlon, c.step)) << 1;
  return Cell{lat_bits | lon_bits, c.step};
}

ScoreSpan score_span(Cell c) {
  const int shift = 2 * (kMaxStep - c.step);
  return ScoreSpan{c.bits << shift, (c.bits + 1) << shift};
}

int estimate_step(double radius_m, double lat) {
  if (radius_m == 0) return kMaxStep;
  // Double the radius until it spans half the Mercator world's width (20037726.37 m): the
  // doublings count the halvings of a cell from the whole grid down to about the radius.
  int step = 1;
  for (double r = radius_m; r < 20037726.37; r *= 2) ++step;
  step -= 2;  // two steps coarser, so the shape mostly fits the centre cell and its ring
  // Towards the poles a cell is narrower in meters east-west: coarser again.
  if (lat > 66 || lat < -66) {
    --step;
    if (lat > 80 || lat < -80) --step;
  }
  return step < 1 ? 1 : (step > kMaxStep ? kMaxStep : step);
}

Area bounding_box(const Shape& s) {
  const double half_h = s.to_m * (s.box ? s.height / 2 : s.radius);
  const double half_w = s.to_m * (s.box ? s.width / 2 : s.radius);
  const double lat_delta = (half_h / kEarthRadius) / kDegToRad;
  const double lon_delta_top = (half_w / kEarthRadius / std::cos((s.lat + lat_delta) * kDegToRad)) / kDegToRad;
  const double lon_delta_bottom = (half_w / kEarthRadius / std::cos((s.lat - lat_delta) * kDegToRad)) / kDegToRad;
  // The widest edge in degrees is the one nearer the pole: the top one north of the equator,
  // the bottom one south of it.
  const double lon_delta = s.lat < 0 ? lon_delta_bottom : lon_delta_top;
  return Area{s.lon - lon_delta, s.lon + lon_delta, s.lat - lat_delta, s.lat + lat_delta};
}

std::vector<Cell> search_cells(const Shape& s) {
  const Area bounds = bounding_box(s);
  int step = estimate_step(reach_m(s), s.lat);
  Cell centre = cell_of(s.lon, s.lat, step);
  // A shape near the edge of its centre cell may reach past the ring of neighbours at that
  // step: then one step coarser.
  if (step > 1) {
    const Area n = area_of(neighbour(centre, 0, 1)), so = area_of(neighbour(centre, 0, -1));
    const Area e = area_of(neighbour(centre, 1, 0)), w = area_of(neighbour(centre, -1, 0));
    if (n.lat_max < bounds.lat_max || so.lat_min > bounds.lat_min || e.lon_max < bounds.lon_max ||
        w.lon_min > bounds.lon_min) {
      --step;
      centre = cell_of(s.lon, s.lat, step);
    }
  }
  // Neighbours in visiting order, as (dlon, dlat).
  static constexpr std::array<std::array<int, 2>, 9> kOrder = {{
      {0, 0}, {0, 1}, {0, -1}, {1, 0}, {-1, 0}, {1, 1}, {-1, 1}, {1, -1}, {-1, -1}}};
  std::array<Cell, 9> cells;
  for (std::size_t i = 0; i < kOrder.size(); ++i) cells[i] = neighbour(centre, kOrder[i][0], kOrder[i][1]);
  // A side of the ring the shape's bounding box does not reach is left out; at step 1 the
  // ring is the rest of the world and stays.
  if (step >= 2) {
    const Area a = area_of(centre);
    for (std::size_t i = 1; i < kOrder.size(); ++i) {
      const int dlon = kOrder[i][0], dlat = kOrder[i][1];
      const bool useless = (dlat < 0 && a.lat_min < bounds.lat_min) || (dlat > 0 && a.lat_max > bounds.lat_max) ||
                           (dlon < 0 && a.lon_min < bounds.lon_min) || (dlon > 0 && a.lon_max > bounds.lon_max);
      if (useless) cells[i] = Cell{};
    }
  }
  std::vector<Cell> visit;
  visit.reserve(cells.size());
  visit.push_back(centre);
  for (std::size_t i = 1; i < cells.size(); ++i) {
    if (cells[i].none()) continue;
    // A huge shape's neighbours can coincide (at step 1 north and south are one row): a cell
    // equal to the neighbour visited just before it is not read twice. The centre is not
    // compared, as in Redis.
    if (visit.size() > 1 && cells[i] == visit.back()) continue;
    visit.push_back(cells[i]);
  }
  return visit;
}

}  // namespace lfdb::db::geo

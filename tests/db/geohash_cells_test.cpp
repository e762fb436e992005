// The geohash grid and a search's cells (src/db/geo/geohash_cells.hpp): the step estimate, the
// wrapping neighbours, a cell's score span, and that the visited cells hold every member a
// shape can match.
#include "db/geo/geohash_cells.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace lfdb::db::geo {
namespace {

TEST(GeohashCells, StepFromRadiusAndLatitude) {
  EXPECT_EQ(estimate_step(0, 0), kMaxStep);
  // 1000 m doubles 15 times to pass 20037726.37 m: 1 + 15, two coarser: 14.
  EXPECT_EQ(estimate_step(1000, 0), 14);
  EXPECT_EQ(estimate_step(1000, -50), 14);
  EXPECT_EQ(estimate_step(1000, 70), 13);   // past 66 degrees: one coarser
  EXPECT_EQ(estimate_step(1000, -81), 12);  // past 80: two
  EXPECT_EQ(estimate_step(0.001, 0), kMaxStep);  // framed to 1..26
  EXPECT_EQ(estimate_step(1e8, 0), 1);
  EXPECT_EQ(estimate_step(1e8, 85), 1);
}

TEST(GeohashCells, CoarseCellHoldsTheFineOne) {
  std::mt19937_64 rnd(5);
  std::uniform_real_distribution<double> lon(kLonMin, kLonMax), lat(kLatMin, kLatMax);
  for (int i = 0; i < 2000; ++i) {
    const double x = lon(rnd), y = lat(rnd);
    const std::uint64_t score = cell_of(x, y, kMaxStep).bits;
    for (int step = 1; step <= kMaxStep; ++step) {
      const Cell c = cell_of(x, y, step);
      const ScoreSpan span = score_span(c);
      ASSERT_LE(span.lo, score) << x << " " << y << " step " << step;
      ASSERT_LT(score, span.hi) << x << " " << y << " step " << step;
      ASSERT_EQ(span.hi - span.lo, 1ULL << (2 * (kMaxStep - step)));
      const Area a = area_of(c);
      ASSERT_TRUE(a.lon_min <= x && x <= a.lon_max && a.lat_min <= y && y <= a.lat_max) << step;
    }
  }
}

TEST(GeohashCells, NeighboursWrapAroundTheGrid) {
  const Cell c = cell_of(179.99, 85.0, 10);  // the north-east corner cell
  const Cell east = neighbour(c, 1, 0), north = neighbour(c, 0, 1);
  EXPECT_EQ(area_of(east).lon_min, kLonMin);   // across the antimeridian
  EXPECT_EQ(area_of(north).lat_min, kLatMin);  // over the pole to the bottom row
  EXPECT_EQ(area_of(north).lon_min, area_of(c).lon_min);
  for (int dlon = -1; dlon <= 1; ++dlon) {
    for (int dlat = -1; dlat <= 1; ++dlat) {
      EXPECT_EQ(neighbour(neighbour(c, dlon, dlat), -dlon, -dlat), c) << dlon << " " << dlat;
    }
  }
  const Cell mid = cell_of(10, 10, 12);
  const Area a = area_of(mid), n = area_of(neighbour(mid, 0, 1)), w = area_of(neighbour(mid, -1, 0));
  EXPECT_EQ(n.lat_min, a.lat_max);
  EXPECT_EQ(w.lon_max, a.lon_min);
  EXPECT_EQ(n.lon_min, a.lon_min);
}

TEST(GeohashCells, WholeWorldIsFourCellsOnce) {
  // At step 1 north and south are the same row and east and west the same column: the ring
  // collapses to three cells besides the centre, each read once.
  Shape s;
  s.lon = 10, s.lat = 10, s.radius = 20000, s.to_m = 1000;
  const std::vector<Cell> cells = search_cells(s);
  ASSERT_EQ(cells.size(), 4u);
  EXPECT_EQ(cells[0], cell_of(10, 10, 1));
  EXPECT_EQ(cells[1], neighbour(cells[0], 0, 1));
  EXPECT_EQ(cells[2], neighbour(cells[0], 1, 0));
  EXPECT_EQ(cells[3], neighbour(cells[0], 1, 1));
  std::uint64_t covered = 0;
  for (const Cell& c : cells) covered += score_span(c).hi - score_span(c).lo;
  EXPECT_EQ(covered, 1ULL << 52);
}

TEST(GeohashCells, RingSidesTheShapeCannotReachAreDropped) {
  // 100 m picks step 17: cells about 300 m wide but, latitude's range being half longitude's,
  // only about 144 m tall. From a cell's middle the circle stays inside it east-west but
  // reaches the rows north and south: the centre, north, south, in that order.
  ASSERT_EQ(estimate_step(100, 10), 17);
  const Cell mid = cell_of(10, 10, 17);
  const Area a = area_of(mid);
  Shape s;
  s.lon = (a.lon_min + a.lon_max) / 2, s.lat = (a.lat_min + a.lat_max) / 2, s.radius = 100, s.to_m = 1;
  const std::vector<Cell> cells = search_cells(s);
  ASSERT_EQ(cells.size(), 3u);
  EXPECT_EQ(cells[0], mid);
  EXPECT_EQ(cells[1], neighbour(mid, 0, 1));
  EXPECT_EQ(cells[2], neighbour(mid, 0, -1));
}

double distance(double lon1, double lat1, double lon2, double lat2) {
  const double u = std::sin((lat2 - lat1) * kDegToRad / 2), v = std::sin((lon2 - lon1) * kDegToRad / 2);
  const double a = u * u + std::cos(lat1 * kDegToRad) * std::cos(lat2 * kDegToRad) * v * v;
  return 2.0 * kEarthRadius * std::asin(std::sqrt(a));
}

TEST(GeohashCells, VisitedCellsHoldEveryPointInTheCircle) {
  std::mt19937_64 rnd(17);
  std::uniform_real_distribution<double> lon(-170, 170), lat(-60, 60), unit(-1, 1);
  for (int i = 0; i < 300; ++i) {
    Shape s;
    s.lon = lon(rnd), s.lat = lat(rnd);
    s.radius = std::pow(10.0, 1 + 4 * (unit(rnd) + 1) / 2);  // 10 m .. 100 km
    s.to_m = 1;
    const std::vector<Cell> cells = search_cells(s);
    ASSERT_FALSE(cells.empty());
    for (std::size_t k = 1; k < cells.size(); ++k) ASSERT_EQ(cells[k].step, cells[0].step);
    const double dlat = s.radius / kEarthRadius / kDegToRad;
    for (int j = 0; j < 200; ++j) {
      const double x = s.lon + unit(rnd) * dlat * 2, y = s.lat + unit(rnd) * dlat;
      if (distance(s.lon, s.lat, x, y) > s.radius) continue;
      const std::uint64_t score = cell_of(x, y, kMaxStep).bits;
      bool held = false;
      for (const Cell& c : cells) held = held || (score_span(c).lo <= score && score < score_span(c).hi);
      ASSERT_TRUE(held) << "shape " << s.lon << "," << s.lat << " r " << s.radius << " point " << x << "," << y;
    }
  }
}

}  // namespace
}  // namespace lfdb::db::geo

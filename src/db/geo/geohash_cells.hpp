// The geohash grid a geo sorted set lives on, and the cells a search visits.
//
// A member's score is its cell at step 26: latitude's 26 bits in the even positions of a 52-bit
// integer, longitude's in the odd ones, both over the Web Mercator box (longitude ±180, latitude
// ±85.05112878). A cell at a coarser step s keeps the top 2s bits, so every score inside it lies
// in one score interval [bits << (52-2s), (bits+1) << (52-2s)): a search looks each visited cell
// up as a score range of the sorted set instead of reading every member.
//
// Which cells: as Redis 7.0 chooses them (the facts are in docs/geo.md), so a search visits the
// same members in the same order and an unsorted reply, or ANY's first COUNT, is Redis's.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace lfdb::db::geo {

constexpr double kLonMin = -180, kLonMax = 180;
constexpr double kLatMin = -85.05112878, kLatMax = 85.05112878;
constexpr int kMaxStep = 26;  // a member's own cell: 52 bits
constexpr double kEarthRadius = 6372797.560856;  // meters, the sphere every distance uses
constexpr double kDegToRad = 3.14159265358979323846 / 180.0;

// A cell: `step` bits of latitude and of longitude, interleaved in `bits`. step 0 is "no cell"
// (a neighbour the search drops).
struct Cell {
  std::uint64_t bits = 0;
  int step = 0;
  bool none() const { return step == 0 && bits == 0; }
  bool operator==(const Cell&) const = default;
};

struct Area {
  double lon_min = 0, lon_max = 0, lat_min = 0, lat_max = 0;
};

// The cell holding (lon, lat) at `step`, over the latitude range [lat_min, lat_max] (Mercator's
// for scores, ±90 for GEOHASH's standard strings).
Cell cell_of(double lon, double lat, int step, double lat_min = kLatMin, double lat_max = kLatMax);
// The cell's extent over the Mercator box.
Area area_of(Cell c);
// The cell dlon columns east and dlat rows north (each -1, 0 or 1), wrapping around the grid at
// both the antimeridian and the poles.
Cell neighbour(Cell c, int dlon, int dlat);
// The scores the cell covers: [lo, hi).
struct ScoreSpan {
  std::uint64_t lo = 0, hi = 0;
};
ScoreSpan score_span(Cell c);

// The step whose cells are about as big as a search of `radius_m` meters around latitude `lat`.
int estimate_step(double radius_m, double lat);

// A search shape: a circle of `radius`, or a box `width` by `height`, in a unit of `to_m`
// meters, around (lon, lat).
struct Shape {
  double lon = 0, lat = 0;
  bool box = false;
  double radius = 0, width = 0, height = 0;
  double to_m = 1;
};

// The shape's bounding box in degrees (its east/west edges taken at the latitude nearer the
// pole, where a meridian degree is shortest).
Area bounding_box(const Shape& s);

// The cells a search of `s` visits, in the order it visits them: the centre's cell, then north,
// south, east, west, north-east, north-west, south-east, south-west, leaving out the neighbours
// the shape cannot reach and a neighbour equal to the one visited just before it.
std::vector<Cell> search_cells(const Shape& s);

}  // namespace lfdb::db::geo

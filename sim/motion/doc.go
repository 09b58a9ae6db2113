// Package motion moves an avatar the way a viewer expects a region to: from
// the control flags, body rotation and flying state an AgentUpdate carries
// (see Controls), one fixed step at a time (Step).
//
// The speeds are OpenSimulator's: its movement base of 3.84 m/s (0.03 ×
// 128) is divided by the character's walk divisor 1.3 for walking (about
// 2.95 m/s) and by its run divisor 0.8 for running (4.8 m/s); flying
// multiplies the base by 4 before the walk divisor (about 11.8 m/s).
// Standing avatars keep their feet on the terrain (the heightmap,
// interpolated between its samples); one above it falls under gravity and
// lands; a flying one hovers, climbs and descends, and lands when it
// descends onto the ground. The region's edge is a wall: an avatar is kept
// a little inside it and its velocity across it is taken away, except at
// an edge with a neighbour beyond (Region.Open), which it walks past.
package motion

// Package bsi is a bit-sliced index: one signed int64 per entity id, stored
// as one roaring bitmap per bit of the values, so that comparisons, ranges,
// sums, min/max, top-k and bucket counts are bitmap operations per plane
// rather than walks over rows. The engine keeps one BSI per INT field, the
// SAMPLE slots and the per-query sums of event amounts (AddPlane,
// FromUnsigned).
package bsi

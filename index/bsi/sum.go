package bsi

import "github.com/RoaringBitmap/roaring/v2"

// AddPlane adds the one-bit number x·2^i to the planes of acc, which it
// owns: acc holds unsigned values, bit j of each entity's value in acc[j],
// and x is the entities to add 2^i to. x is not modified. With FromUnsigned,
// it sums weighted bitmaps into a BSI with bitmap operations only.
func AddPlane(acc []*roaring.Bitmap, x *roaring.Bitmap, i int) []*roaring.Bitmap {
	carry, owned := x, false
	for ; !carry.IsEmpty(); i++ {
		for len(acc) < i {
			acc = append(acc, roaring.New())
		}
		if i == len(acc) {
			if !owned {
				carry = carry.Clone()
			}
			return append(acc, carry)
		}
		a := acc[i]
		next := roaring.And(a, carry)
		// Not a.Xor(carry): roaring v2.30's in-place Xor of an array
		// container with a bitmap container writes into its argument,
		// which may be a stored bitmap (RoaringBitmap/roaring#564).
		acc[i] = roaring.Xor(a, carry)
		carry, owned = next, true
	}
	return acc
}

// FromUnsigned returns the BSI of the non-negative values whose bit i is
// planes[i] (as AddPlane builds them), taking ownership of the bitmaps. Every
// plane must be a subset of exists; unlike FromBitmaps, that is not checked.
func FromUnsigned(exists *roaring.Bitmap, planes []*roaring.Bitmap) *BSI {
	return &BSI{exists: exists, planes: append(planes, roaring.New())}
}

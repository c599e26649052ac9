package index

import (
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/segd-db/segd/index/bsi"
	"github.com/segd-db/segd/index/expr"
)

// Kind is a field's kind, fixed when the field is created.
type Kind uint8

const (
	KindEnum  Kind = iota + 1 // at most one value per entity
	KindTags                  // any number of values per entity
	KindInt                   // one signed 64-bit integer per entity, bit-sliced
	KindEvent                 // timestamped occurrences in time buckets
)

func (k Kind) String() string {
	switch k {
	case KindEnum:
		return "ENUM"
	case KindTags:
		return "TAGS"
	case KindInt:
		return "INT"
	case KindEvent:
		return "EVENT"
	}
	return "UNKNOWN"
}

// ParseKind reads ENUM, TAGS, INT or EVENT in any case.
func ParseKind(s string) (Kind, bool) {
	switch strings.ToUpper(s) {
	case "ENUM":
		return KindEnum, true
	case "TAGS":
		return KindTags, true
	case "INT":
		return KindInt, true
	case "EVENT":
		return KindEvent, true
	}
	return 0, false
}

var fieldNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

// ValidFieldName reports whether name can name a field: [A-Za-z_][A-Za-z0-9_]{0,63}
// and not a keyword of the expression language in any case.
func ValidFieldName(name string) error {
	if !fieldNameRE.MatchString(name) {
		return errorf("invalid field name '%s': use 1 to 64 letters, digits or '_', not starting with a digit", printable(name))
	}
	if expr.IsKeyword(name) {
		return errorf("invalid field name '%s': it spells the keyword %s", name, strings.ToUpper(name))
	}
	return nil
}

const (
	MaxKeyLen   = 512
	MaxValueLen = 256
	// enumOrdinalThreshold is the number of distinct values above which an
	// ENUM keeps a per-entity ordinal array; below it the current value of an
	// entity is found by probing the few value bitmaps.
	enumOrdinalThreshold = 16
)

func checkKey(key string) error {
	if len(key) == 0 {
		return errorf("empty key: entity keys are 1 to %d bytes", MaxKeyLen)
	}
	if len(key) > MaxKeyLen {
		return errorf("key of %d bytes is too long: entity keys are 1 to %d bytes", len(key), MaxKeyLen)
	}
	return nil
}

func checkValue(field, v string) error {
	if len(v) == 0 {
		return errorf("empty value for field '%s': values are 1 to %d bytes", field, MaxValueLen)
	}
	if len(v) > MaxValueLen {
		return errorf("value of %d bytes for field '%s' is too long: values are 1 to %d bytes", len(v), field, MaxValueLen)
	}
	return nil
}

// CanonicalInt parses a canonical decimal int64: the values a first
// ENT.SET turns into an INT field.
func CanonicalInt(s string) (int64, bool) { return canonicalInt(s) }

// canonicalInt parses a canonical decimal int64 ("0", "-12", not "+1", "007", "-0").
func canonicalInt(s string) (int64, bool) {
	if s == "" || s == "-0" || s[0] == '+' || (len(s) > 1 && s[0] == '0') || (len(s) > 2 && s[0] == '-' && s[1] == '0') {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// printable quotes non-printable bytes of s for an error message.
func printable(s string) string {
	q := strconv.Quote(s)
	q = q[1 : len(q)-1]
	if len(q) > 80 {
		q = q[:77] + "..."
	}
	return q
}

// field holds one field's bitmaps. ENUM and TAGS keep one bitmap per value
// (indexed by ordinal-1) and a bitmap of entities with any value; INT keeps a BSI.
type field struct {
	name string
	kind Kind

	values   []string          // ordinal-1 -> value
	ordinals map[string]uint32 // value -> ordinal (1-based)
	bms      []*roaring.Bitmap // ordinal-1 -> entities holding the value
	has      *roaring.Bitmap   // ENUM/TAGS: entities with any value
	ord      *ordinals         // ENUM with many values: entity id -> ordinal (0 = none)

	bsi *bsi.BSI // INT
	ev  *events  // EVENT (values and ordinals name its value series)

	tagWords []uint64 // TAGS read by saved segments: see tags_sig.go
	tagBits  []uint8  // value ordinal-1 -> its bit in tagWords (tags_sig.go)

	// dirty: the field changed since the engine's last FreezeChanges (for
	// an EVENT field: all of it; its blocks also keep their own marks).
	dirty bool
}

func newField(name string, kind Kind) *field {
	f := &field{name: name, kind: kind, dirty: true}
	switch kind {
	case KindEnum, KindTags:
		f.ordinals = map[string]uint32{}
		f.has = roaring.New()
	case KindInt:
		f.bsi = bsi.New()
	case KindEvent:
		f.ordinals = map[string]uint32{}
		f.ev = newEvents(0, 0)
	}
	return f
}

// entities is the set of entities with any value.
func (f *field) entities(now int64) *roaring.Bitmap {
	switch f.kind {
	case KindInt:
		return f.bsi.Exists()
	case KindEvent:
		sel := eventSel{f: f}
		pcs, _, _ := sel.pieces(&qctx{at: now + int64(MaxFutureSkew/time.Second), now: now})
		bm, _ := anyOf(pcs, nil)
		return bm
	}
	return f.has
}

func (f *field) valueBitmap(v string) *roaring.Bitmap {
	if o, ok := f.ordinals[v]; ok {
		return f.bms[o-1]
	}
	return nil
}

func (f *field) ordinalFor(v string) uint32 {
	if o, ok := f.ordinals[v]; ok {
		return o
	}
	f.values = append(f.values, v)
	f.bms = append(f.bms, roaring.New())
	o := uint32(len(f.values))
	f.ordinals[v] = o
	if f.kind == KindEnum && f.ord == nil && len(f.values) > enumOrdinalThreshold {
		f.buildOrd()
	}
	return o
}

// buildOrd builds the per-entity ordinal array of an ENUM from its bitmaps.
func (f *field) buildOrd() {
	f.ord = &ordinals{}
	buf := make([]uint32, 1024)
	for i, bm := range f.bms {
		it := bm.ManyIterator()
		for n := it.NextMany(buf); n > 0; n = it.NextMany(buf) {
			for _, id := range buf[:n] {
				f.ord.set(id, uint32(i+1))
			}
		}
	}
}

// ordinals maps entity ids to value ordinals: 2 bytes an entity while the
// field has fewer than 65536 values, 4 after.
type ordinals struct {
	o16 []uint16
	o32 []uint32
}

func (o *ordinals) get(id uint32) uint32 {
	if o.o32 != nil {
		if int(id) < len(o.o32) {
			return o.o32[id]
		}
		return 0
	}
	if int(id) < len(o.o16) {
		return uint32(o.o16[id])
	}
	return 0
}

func (o *ordinals) set(id, v uint32) {
	if o.o32 == nil && v > 0xffff {
		o.o32 = make([]uint32, len(o.o16))
		for i, x := range o.o16 {
			o.o32[i] = uint32(x)
		}
		o.o16 = nil
	}
	if o.o32 != nil {
		if int(id) >= len(o.o32) {
			if v == 0 {
				return
			}
			o.o32 = append(o.o32, make([]uint32, growTo(len(o.o32), id)-len(o.o32))...)
		}
		o.o32[id] = v
		return
	}
	if int(id) >= len(o.o16) {
		if v == 0 {
			return
		}
		o.o16 = append(o.o16, make([]uint16, growTo(len(o.o16), id)-len(o.o16))...)
	}
	o.o16[id] = uint16(v)
}

// growTo is the length a per-entity array of length n grows to so that it
// holds id: a quarter more, at least id+1024.
func growTo(n int, id uint32) int {
	return max(n*5/4+1024, int(id)+1024)
}

func (o *ordinals) bytes() uint64 { return uint64(2*cap(o.o16) + 4*cap(o.o32)) }

// enumOrdinal is the ordinal of an ENUM entity's value, 0 for none.
func (f *field) enumOrdinal(id uint32) uint32 {
	if f.ord != nil {
		return f.ord.get(id)
	}
	if !f.has.Contains(id) {
		return 0
	}
	for i, bm := range f.bms {
		if bm.Contains(id) {
			return uint32(i + 1)
		}
	}
	return 0
}

// setEnum gives id the value v; it reports whether anything changed.
func (f *field) setEnum(id uint32, v string) bool {
	old := f.enumOrdinal(id)
	o := f.ordinalFor(v)
	if old == o {
		return false
	}
	if old != 0 {
		f.bms[old-1].Remove(id)
	}
	f.bms[o-1].Add(id)
	f.has.Add(id)
	if f.ord != nil {
		f.ord.set(id, o)
	}
	f.dirty = true
	return true
}

// addTag adds value v to id; it reports whether it was new.
func (f *field) addTag(id uint32, v string) bool {
	o := f.ordinalFor(v)
	if !f.bms[o-1].CheckedAdd(id) {
		return false
	}
	f.has.Add(id)
	if f.tagWords != nil {
		f.tagWordAdd(id, o)
	}
	f.dirty = true
	return true
}

// remTag removes value v from id; it reports whether it was there.
func (f *field) remTag(id uint32, v string) bool {
	bm := f.valueBitmap(v)
	if bm == nil || !bm.CheckedRemove(id) {
		return false
	}
	f.dirty = true
	if f.tagWords != nil {
		f.tagWordRemoved(id, f.ordinals[v])
	}
	for _, other := range f.bms {
		if other.Contains(id) {
			return true
		}
	}
	f.has.Remove(id)
	return true
}

// tagsOf lists id's tags in ordinal order.
func (f *field) tagsOf(id uint32) []string {
	if !f.has.Contains(id) {
		return nil
	}
	var out []string
	for i, bm := range f.bms {
		if bm.Contains(id) {
			out = append(out, f.values[i])
		}
	}
	return out
}

// clear removes every value of id; it reports whether id had one.
func (f *field) clear(id uint32) bool {
	if f.clearValues(id) {
		f.dirty = true
		return true
	}
	return false
}

func (f *field) clearValues(id uint32) bool {
	switch f.kind {
	case KindEvent:
		had := f.ev.any.remove(id)
		for _, s := range f.ev.ser {
			s.remove(id)
		}
		return had
	case KindInt:
		return f.bsi.Clear(id)
	case KindEnum:
		old := f.enumOrdinal(id)
		if old == 0 {
			return false
		}
		f.bms[old-1].Remove(id)
		f.has.Remove(id)
		if f.ord != nil {
			f.ord.set(id, 0)
		}
		return true
	case KindTags:
		if !f.has.CheckedRemove(id) {
			return false
		}
		f.tagWordClear(id)
		for _, bm := range f.bms {
			bm.Remove(id)
		}
		return true
	}
	return false
}

// distinct counts the values held by at least one entity.
func (f *field) distinct() int {
	if f.kind == KindInt {
		return 0
	}
	n := 0
	if f.kind == KindEvent {
		for _, s := range f.ev.ser {
			if len(s.levels[0]) > 0 {
				n++
			}
		}
		return n
	}
	for _, bm := range f.bms {
		if !bm.IsEmpty() {
			n++
		}
	}
	return n
}

func (f *field) sizeInBytes() uint64 {
	switch f.kind {
	case KindInt:
		return f.bsi.SizeInBytes()
	case KindEvent:
		n := f.ev.bytes()
		for _, v := range f.values {
			n += uint64(len(v)) + 48
		}
		return n
	}
	n := f.has.GetSizeInBytes()
	if f.ord != nil {
		n += f.ord.bytes()
	}
	n += 8 * uint64(cap(f.tagWords))
	for i, bm := range f.bms {
		n += bm.GetSizeInBytes() + uint64(len(f.values[i])) + 48
	}
	return n
}

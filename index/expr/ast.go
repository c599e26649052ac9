package expr

import "time"

// Node is one node of a parsed expression (SPEC §4). Positions are 1-based
// character offsets into the expression text, for error messages.
type Node interface {
	// Position is the 1-based offset of the node's first character.
	Position() int
}

// And is the conjunction of two or more terms.
type And struct {
	Pos   int
	Terms []Node
}

// Or is the disjunction of two or more terms.
type Or struct {
	Pos   int
	Terms []Node
}

// Xor is the exclusive or of two or more terms, folded left to right.
type Xor struct {
	Pos   int
	Terms []Node
}

// Not is the complement of X over the live entities.
type Not struct {
	Pos int
	X   Node
}

// All is every live entity.
type All struct{ Pos int }

// SegmentRef is "@name": the members of a saved segment.
type SegmentRef struct {
	Pos  int
	Name string
}

// Selector says what follows "field:" in a predicate.
type Selector uint8

const (
	SelNone   Selector = iota // bare field, optionally with a comparison: "age >= 3", "purchase IN 7d"
	SelValues                 // "f:v" or "f:(a,b,c)": Values holds one or more values
	SelAny                    // "f:*"
	SelRange                  // "f:[lo TO hi]": Lo, Hi inclusive
)

// CmpOp is a comparison operator.
type CmpOp uint8

const (
	CmpNone CmpOp = iota
	CmpEq         // =
	CmpNe         // !=
	CmpLt         // <
	CmpLe         // <=
	CmpGt         // >
	CmpGe         // >=
)

func (c CmpOp) String() string {
	return [...]string{"", "=", "!=", "<", "<=", ">", ">="}[c]
}

// WindowKind says which time window an event predicate covers.
type WindowKind uint8

const (
	WindowNone    WindowKind = iota // no window written (means EVER for events)
	WindowEver                      // EVER
	WindowIn                        // IN duration
	WindowBetween                   // BETWEEN time AND time
)

// Window is the time window of an event predicate or measure.
type Window struct {
	Pos      int
	Kind     WindowKind
	Dur      time.Duration // WindowIn
	From, To time.Time     // WindowBetween
}

// Pred is a field predicate. Whether it reads an ENUM, TAGS, INT or EVENT
// field is only known against a schema, so the parser records what was written
// and the planner checks it against the field's kind:
//
//	country:US            Sel=SelValues Values=[US]
//	country:(US,FR)       Sel=SelValues Values=[US FR]
//	country:*             Sel=SelAny
//	age:[20 TO 35]        Sel=SelRange Lo=20 Hi=35
//	age >= 30             Sel=SelNone Cmp=CmpGe N=30
//	purchase:shirts >= 3 IN 90d   Sel=SelValues Values=[shirts] Cmp=CmpGe N=3 Window={In 90d}
//	cart_add IN 7d        Sel=SelNone Cmp=CmpNone Window={In 7d}
type Pred struct {
	Pos    int
	Field  string
	Sel    Selector
	Values []string
	Lo, Hi int64
	Cmp    CmpOp
	N      int64
	Window Window
}

// Top is "TOP k [%] BY measure".
type Top struct {
	Pos     int
	K       int64
	Percent bool
	Measure Measure
}

// Sample is "SAMPLE p% [SEED s]".
type Sample struct {
	Pos     int
	Percent int64
	Seed    int64
	HasSeed bool
}

// Measure is a per-entity number: an INT field, or the sum of an event's
// amounts over a window ("spend:apparel IN 365d").
type Measure struct {
	Pos    int
	Field  string
	Sel    Selector // SelNone, SelValues or SelAny
	Values []string
	Window Window
}

func (n *And) Position() int        { return n.Pos }
func (n *Or) Position() int         { return n.Pos }
func (n *Xor) Position() int        { return n.Pos }
func (n *Not) Position() int        { return n.Pos }
func (n *All) Position() int        { return n.Pos }
func (n *SegmentRef) Position() int { return n.Pos }
func (n *Pred) Position() int       { return n.Pos }
func (n *Top) Position() int        { return n.Pos }
func (n *Sample) Position() int     { return n.Pos }
func (n *Measure) Position() int    { return n.Pos }

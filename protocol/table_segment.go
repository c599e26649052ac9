package protocol

// The SEGMENT.* family of the command table (SPEC §3 "Saved segments").

// The segment commands join the table during package variable
// initialisation, before the init that indexes the table runs.
var _ = func() bool {
	table = append(table, segmentCommands...)
	table = append(table, analyticsCommands...)
	return true
}()

var segmentNameArg = strArg("name")

var segmentCommands = []*Command{
	{
		Name: "segment.create", Arity: -3, Flags: fWrite, Group: "segd-segment", Since: since,
		Summary:    "Save an expression as a segment kept exact on every write and every tick of time; returns its cardinality",
		Complexity: "O(E) where E is the cost of evaluating the expression once",
		Args:       []Arg{segmentNameArg, strArg("expr"), opt(pure("REPLACE"))},
	},
	{
		Name: "segment.drop", Arity: 2, Flags: fWrite, Group: "segd-segment", Since: since,
		Summary:    "Drop a saved segment; an error while another segment references it",
		Complexity: "O(1)",
		Args:       []Arg{segmentNameArg},
	},
	{
		Name: "segment.list", ReadsSegments: true, Arity: 1, Flags: fRead, Group: "segd-segment", Since: since,
		Summary:    "The names of the saved segments, sorted",
		Complexity: "O(N log N) where N is the number of segments",
	},
	{
		Name: "segment.info", ReadsSegments: true, Arity: 2, Flags: fRead, Group: "segd-segment", Since: since,
		Summary:    "A saved segment's expression, cardinality, version, times, memory and what it reads",
		Complexity: "O(1)",
		Args:       []Arg{segmentNameArg},
	},
	{
		Name: "segment.card", ReadsSegments: true, Arity: 2, Flags: fReadFast, Group: "segd-segment", Since: since,
		Summary:    "The number of members of a saved segment",
		Complexity: "O(1)",
		Args:       []Arg{segmentNameArg},
	},
	{
		Name: "segment.members", ReadsSegments: true, Arity: -2, Flags: fRead, Group: "segd-segment", Since: since,
		Summary:    "Iterate over the members of a saved segment, like SSCAN",
		Complexity: "O(N) for the N keys returned",
		Args:       []Arg{segmentNameArg, opt(tok("CURSOR", strArg("cursor"))), opt(tok("COUNT", intArg("count")))},
		Tips:       []string{"nondeterministic_output_order"},
	},
	{
		Name: "segment.ismember", ReadsSegments: true, Arity: 3, Flags: fReadFast, FirstKey: 2, LastKey: 2, Step: 1,
		Group: "segd-segment", Since: since,
		Summary:    "Tell whether an entity is a member of a saved segment (1) or not (0)",
		Complexity: "O(1)",
		Args:       []Arg{segmentNameArg, keyArg("key")},
	},
	{
		Name: "segment.mismember", ReadsSegments: true, Arity: -3, Flags: fReadFast, FirstKey: 2, LastKey: -1, Step: 1,
		Group: "segd-segment", Since: since,
		Summary:    "Tell for each key whether it is a member of a saved segment",
		Complexity: "O(N) where N is the number of keys",
		Args:       []Arg{segmentNameArg, multi(keyArg("key"))},
	},
	{
		Name: "segment.of", ReadsSegments: true, Arity: 2, Flags: fRead, FirstKey: 1, LastKey: 1, Step: 1,
		Group: "segd-segment", Since: since,
		Summary:    "The names of every saved segment holding an entity, sorted",
		Complexity: "O(S) where S is the number of segments",
		Args:       []Arg{keyArg("key")},
	},
	{
		Name: "segment.overlap", ReadsSegments: true, Arity: -3, Flags: fRead, Group: "segd-segment", Since: since,
		Summary:    "The k×k matrix of intersection sizes of saved segments (the diagonal holds each cardinality)",
		Complexity: "O(k²) bitmap intersections",
		Args:       []Arg{segmentNameArg, multi(strArg("other"))},
	},
	{
		Name: "segment.changes", ReadsSegments: true, Arity: -4, Flags: fRead, Group: "segd-segment", Since: since,
		Summary:    "The enters and exits of a saved segment after a version, oldest first, from its bounded change log",
		Complexity: "O(N) for the N changes returned",
		Args:       []Arg{segmentNameArg, tok("SINCE", intArg("version")), opt(tok("COUNT", intArg("count")))},
	},
}

var analyticsCommands = []*Command{
	{
		Name: "segment.history", ReadsSegments: true, Arity: -2, Flags: fRead, Group: "segd-segment", Since: since,
		Summary:    "A saved segment's cardinality over time, sampled on change: per minute for a day, per hour for 30 days, per day before",
		Complexity: "O(N) for the N points returned",
		Args:       []Arg{segmentNameArg, opt(tok("SINCE", strArg("time")))},
	},
	{
		Name: "segment.profile", ReadsSegments: true, Arity: -2, Flags: fRead, Group: "segd-segment", Since: since,
		Summary:    "The persona of a saved segment: per value, its share in the segment, overall, and the lift, highest lift first",
		Complexity: "O(V) bitmap intersections where V is the number of values of the fields profiled",
		Args:       []Arg{segmentNameArg, limitArg, opt(tok("FIELDS", multi(strArg("field"))))},
	},
	{
		Name: "segment.lookalike", ReadsSegments: true, Arity: -4, Flags: fRead, Group: "segd-segment", Since: since,
		Summary:    "The non-members most like the members of a saved segment, best first, by a sum of log-lifts",
		Complexity: "O(V) bitmap operations where V is the number of values of ENUM, TAGS and INT fields",
		Args:       []Arg{segmentNameArg, tok("COUNT", intArg("count")), whereArg},
	},
	{
		Name: "segment.sample", ReadsSegments: true, Arity: -4, Flags: fRead, Group: "segd-segment", Since: since,
		Summary:    "Members of a saved segment drawn uniformly, the same for the same seed and data",
		Complexity: "O(N log N) for the N members drawn",
		Args:       []Arg{segmentNameArg, tok("COUNT", intArg("count")), opt(tok("SEED", intArg("seed")))},
		Tips:       []string{"nondeterministic_output"},
	},
}

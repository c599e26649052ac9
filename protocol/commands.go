package protocol

import (
	"bytes"
	"errors"
	"sort"
	"strings"
)

// Arg describes one argument of a command, as COMMAND DOCS reports it and
// redis-cli turns it into an argument hint.
type Arg struct {
	Name string
	// Type is one of "key", "string", "integer", "double", "pattern",
	// "unix-time", "pure-token", "oneof", "block".
	Type string
	// Token is the literal word that introduces the argument, e.g. "COUNT"
	// for "[COUNT count]"; for a pure-token it is the whole argument.
	Token                             string
	Optional, Multiple, MultipleToken bool
	// Since is the version that added the argument, when later than the
	// command itself.
	Since string
	// Args are the alternatives of a oneof, or the parts of a block.
	Args []Arg
}

// Command is one entry of the command table: dispatch, authentication and
// loading checks, COMMAND, COMMAND INFO and COMMAND DOCS all read it.
type Command struct {
	// Name is lower case: "query.count", or "client|setname" for a
	// subcommand.
	Name string
	// Arity follows Redis: positive is an exact argument count, negative a
	// minimum of -Arity; both count the command name (and, for a
	// subcommand, the subcommand name).
	Arity int
	// Flags are Redis command flags: "write", "readonly", "denyoom",
	// "admin", "pubsub", "noscript", "loading", "stale", "fast", "no_auth",
	// "allow_busy", "no_multi", "no_async_loading", ... (see KnownFlags).
	Flags []string
	// FirstKey, LastKey and Step locate the entity keys in the arguments,
	// as in COMMAND INFO: 0, 0, 0 when the command takes no key; LastKey -1
	// means "up to the last argument".
	FirstKey, LastKey, Step int
	// Group is the documentation group: "segd-schema", "segd-entity",
	// "segd-query", "connection", "server", "pubsub".
	Group      string
	Summary    string
	Since      string
	Complexity string
	Args       []Arg
	// Subcommands of a container command such as CLIENT; their names are
	// "client|setname".
	Subcommands []*Command

	// ACLCategories as COMMAND INFO reports them ("@read", "@fast"); when
	// nil they are derived from Flags.
	ACLCategories []string
	// Tips are COMMAND INFO's command tips, e.g. "nondeterministic_output".
	Tips []string
	// KeyFlags are the flags of the command's key specification ("RO",
	// "access"; "RW", "update"; "RM", "delete"); when nil they are derived
	// from Flags.
	KeyFlags []string

	// Subscribed marks the commands a RESP2 connection may send while it is
	// subscribed to channels (Redis allows (P)SUBSCRIBE, (P)UNSUBSCRIBE,
	// PING, QUIT and RESET there; segd also PUBLISH).
	Subscribed bool
	// ReadsSegments marks the commands that read saved segments, directly
	// or through an expression's @name: the server runs a due
	// time-relative refresh before them, so that they see the current
	// bucket.
	ReadsSegments bool

	// Parent is the container command of a subcommand, nil otherwise.
	Parent *Command
	// ID numbers the commands and subcommands densely from 0 (below
	// Count()), for tables indexed by command.
	ID int

	subs    map[string]*Command // subcommand name after '|' -> subcommand
	write   bool                // Flags has "write"
	options []Option            // derived from Args, see Options
	upper   string              // Name in upper case, for errors
}

// Writes reports whether the command changes data (the "write" flag).
func (c *Command) Writes() bool { return c.write }

// KnownFlags lists every command flag Redis 7 defines; the table uses only
// these.
var KnownFlags = []string{
	"write", "readonly", "denyoom", "module", "admin", "pubsub", "noscript",
	"blocking", "loading", "stale", "skip_monitor", "skip_slowlog", "asking",
	"fast", "no_auth", "may_replicate", "sentinel", "only_sentinel",
	"no_mandatory_keys", "protected", "module_getkeys", "module_no_cluster",
	"no_async_loading", "no_multi", "movablekeys", "allow_busy",
	"module_getchannels", "touches_arbitrary_keys",
}

// maxNameLen bounds the command and subcommand names Lookup considers;
// longer names cannot be in the table.
const maxNameLen = 32

var (
	byName  map[string]*Command
	ordered []*Command
)

func init() {
	byName = make(map[string]*Command, len(table))
	for _, c := range table {
		if _, dup := byName[c.Name]; dup {
			panic("protocol: duplicate command " + c.Name)
		}
		if len(c.Name) > maxNameLen {
			panic("protocol: command name too long: " + c.Name)
		}
		byName[c.Name] = c
		if len(c.Subcommands) > 0 {
			c.subs = make(map[string]*Command, len(c.Subcommands))
			sort.Slice(c.Subcommands, func(i, j int) bool {
				return c.Subcommands[i].Name < c.Subcommands[j].Name
			})
		}
		for _, s := range c.Subcommands {
			s.Parent = c
			if s.Group == "" {
				s.Group = c.Group
			}
			if s.Since == "" {
				s.Since = c.Since
			}
			short := s.Name[strings.IndexByte(s.Name, '|')+1:]
			if len(short) > maxNameLen {
				panic("protocol: subcommand name too long: " + s.Name)
			}
			c.subs[short] = s
		}
		ordered = append(ordered, c)
	}
	sort.Slice(ordered, func(i, j int) bool { return ordered[i].Name < ordered[j].Name })
	for _, c := range ordered {
		c.ID, c.write, c.options, c.upper = count, c.HasFlag("write"), optionsOf(c.Args), strings.ToUpper(c.Name)
		count++
		for _, s := range c.Subcommands {
			s.ID, s.write, s.options, s.upper = count, s.HasFlag("write"), optionsOf(s.Args), strings.ToUpper(s.Name)
			count++
		}
	}
}

// count is the number of commands and subcommands.
var count int

// Count is the number of commands and subcommands: every Command.ID is
// below it.
func Count() int { return count }

// Lookup finds a command by name, case-insensitively, without allocating.
// It returns nil for an unknown name.
func Lookup(name []byte) *Command {
	var buf [maxNameLen]byte
	lower, ok := lowerInto(&buf, name)
	if !ok {
		return nil
	}
	return byName[string(lower)]
}

// LookupSub finds a subcommand of cmd by its name ("setname" for CLIENT
// SETNAME), case-insensitively, without allocating. It returns nil when cmd
// has no such subcommand.
func LookupSub(cmd *Command, sub []byte) *Command {
	if cmd == nil || cmd.subs == nil {
		return nil
	}
	var buf [maxNameLen]byte
	lower, ok := lowerInto(&buf, sub)
	if !ok {
		return nil
	}
	return cmd.subs[string(lower)]
}

// LookupFull finds a command or a subcommand by its full name as COMMAND
// INFO and COMMAND DOCS take it: "query.count" or "client|setname",
// case-insensitively, without allocating.
func LookupFull(name []byte) *Command {
	i := bytes.IndexByte(name, '|')
	if i < 0 {
		return Lookup(name)
	}
	return LookupSub(Lookup(name[:i]), name[i+1:])
}

func lowerInto(buf *[maxNameLen]byte, b []byte) ([]byte, bool) {
	if len(b) > maxNameLen {
		return nil, false
	}
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return buf[:len(b)], true
}

// All returns the top-level commands sorted by name. The slice is shared:
// do not modify it.
func All() []*Command { return ordered }

// CheckArity reports whether argc arguments, the command name included (and
// the subcommand name, for a subcommand), fit the command's arity.
func (c *Command) CheckArity(argc int) bool {
	if c.Arity >= 0 {
		return argc == c.Arity
	}
	return argc >= -c.Arity
}

// HasFlag reports whether the command carries the flag f ("write", ...).
func (c *Command) HasFlag(f string) bool {
	for _, g := range c.Flags {
		if g == f {
			return true
		}
	}
	return false
}

// ArityError is the Redis 7 message for a wrong argument count:
// "wrong number of arguments for 'client|setname' command". ErrorOf makes it
// an ERR reply.
func (c *Command) ArityError() error {
	return errors.New("wrong number of arguments for '" + strings.ToUpper(c.Name) + "' command")
}

// UnknownCommandError is Redis 7's message for an unknown command, quoting
// the name and the first arguments: "unknown command 'foo', with args
// beginning with: 'a' 'b' ". ErrorOf makes it an ERR reply.
func UnknownCommandError(args [][]byte) error {
	var b strings.Builder
	b.WriteString("unknown command '")
	if len(args) > 0 {
		b.Write(clip(args[0], 128))
	}
	b.WriteString("', with args beginning with: ")
	room := 128
	for _, a := range args[min(1, len(args)):] {
		if room <= 0 {
			break
		}
		a = clip(a, room)
		b.WriteByte('\'')
		b.Write(a)
		b.WriteString("' ")
		room -= len(a) + 3
	}
	return errors.New(b.String())
}

// UnknownSubcommandError is Redis 7's message for an unknown subcommand:
// "unknown subcommand 'foo'. Try CLIENT HELP.". ErrorOf makes it an ERR reply.
func UnknownSubcommandError(cmd *Command, sub []byte) error {
	return errors.New("unknown subcommand '" + string(clip(sub, 128)) +
		"'. Try " + strings.ToUpper(cmd.Name) + " HELP.")
}

func clip(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// aclCategories returns the command's ACL categories, given or derived.
func (c *Command) aclCategories() []string {
	if c.ACLCategories != nil {
		return c.ACLCategories
	}
	var cats []string
	switch {
	case c.HasFlag("admin"):
		cats = append(cats, "@admin")
	case c.HasFlag("write"):
		cats = append(cats, "@write")
	case c.HasFlag("readonly"):
		cats = append(cats, "@read")
	}
	if c.HasFlag("pubsub") {
		cats = append(cats, "@pubsub")
	}
	if c.HasFlag("fast") {
		cats = append(cats, "@fast")
	} else {
		cats = append(cats, "@slow")
	}
	if c.HasFlag("admin") {
		cats = append(cats, "@dangerous")
	}
	if c.Group == "connection" {
		cats = append(cats, "@connection")
	}
	return cats
}

// keyFlags returns the flags of the command's key specification.
func (c *Command) keyFlags() []string {
	if c.KeyFlags != nil {
		return c.KeyFlags
	}
	if c.HasFlag("write") {
		return []string{"RW", "update"}
	}
	return []string{"RO", "access"}
}

// WriteCommandInfo appends one entry of COMMAND / COMMAND INFO exactly as
// Redis 7 shapes it: a 10-element array of name (bulk), arity (integer),
// flags (set of simple strings), first key, last key, step (integers), ACL
// categories (set of simple strings), tips (set of bulk strings), key
// specifications (set of maps) and subcommands (array of such entries, or
// an empty set when there are none). Under RESP2 every set is an array.
// For a name that is not a command, COMMAND INFO answers Enc.Null in its
// place, as Redis 7 does ("$-1" under RESP2, "_" under RESP3).
func WriteCommandInfo(e *Enc, c *Command) {
	e.Array(10)
	e.BulkString(c.Name)
	e.Int(int64(c.Arity))
	e.Set(len(c.Flags))
	for _, f := range c.Flags {
		e.SimpleString(f)
	}
	e.Int(int64(c.FirstKey))
	e.Int(int64(c.LastKey))
	e.Int(int64(c.Step))
	cats := c.aclCategories()
	e.Set(len(cats))
	for _, a := range cats {
		e.SimpleString(a)
	}
	e.Set(len(c.Tips))
	for _, t := range c.Tips {
		e.BulkString(t)
	}
	writeKeySpecs(e, c)
	if len(c.Subcommands) == 0 {
		// Redis 7 writes an empty set here, but an array when there are
		// subcommands.
		e.Set(0)
		return
	}
	e.Array(len(c.Subcommands))
	for _, s := range c.Subcommands {
		WriteCommandInfo(e, s)
	}
}

// writeKeySpecs appends the key specifications: one "index"/"range" spec
// when the command takes keys, none otherwise.
func writeKeySpecs(e *Enc, c *Command) {
	if c.FirstKey <= 0 {
		e.Set(0)
		return
	}
	// Redis's range spec counts lastkey from the first key: 0 is the first
	// key itself, a negative value counts from the end of the arguments.
	last := c.LastKey
	if last >= 0 {
		last -= c.FirstKey
	}
	step := c.Step
	if step <= 0 {
		step = 1
	}
	flags := c.keyFlags()
	e.Set(1)
	e.Map(3)
	e.BulkString("flags")
	e.Set(len(flags))
	for _, f := range flags {
		e.SimpleString(f)
	}
	e.BulkString("begin_search")
	e.Map(2)
	e.BulkString("type")
	e.BulkString("index")
	e.BulkString("spec")
	e.Map(1)
	e.BulkString("index")
	e.Int(int64(c.FirstKey))
	e.BulkString("find_keys")
	e.Map(2)
	e.BulkString("type")
	e.BulkString("range")
	e.BulkString("spec")
	e.Map(3)
	e.BulkString("lastkey")
	e.Int(int64(last))
	e.BulkString("keystep")
	e.Int(int64(step))
	e.BulkString("limit")
	e.Int(0)
}

// WriteCommandDocs appends a COMMAND DOCS reply for cmds (nil entries, for
// names that are not commands, are left out as Redis does): a map from
// command name to a map of summary, since, group, complexity, arguments and
// subcommands. Argument flags are simple strings: redis-cli asserts on that
// when it builds its hint table at start-up.
func WriteCommandDocs(e *Enc, cmds []*Command) {
	n := 0
	for _, c := range cmds {
		if c != nil {
			n++
		}
	}
	e.Map(n)
	for _, c := range cmds {
		if c != nil {
			e.BulkString(c.Name)
			writeDoc(e, c)
		}
	}
}

func writeDoc(e *Enc, c *Command) {
	n := 4
	if len(c.Args) > 0 {
		n++
	}
	if len(c.Subcommands) > 0 {
		n++
	}
	e.Map(n)
	e.BulkString("summary")
	e.BulkString(c.Summary)
	e.BulkString("since")
	e.BulkString(c.Since)
	e.BulkString("group")
	e.BulkString(c.Group)
	e.BulkString("complexity")
	e.BulkString(c.Complexity)
	if len(c.Args) > 0 {
		e.BulkString("arguments")
		writeArgs(e, c.Args)
	}
	if len(c.Subcommands) > 0 {
		e.BulkString("subcommands")
		e.Map(len(c.Subcommands))
		for _, s := range c.Subcommands {
			e.BulkString(s.Name)
			writeDoc(e, s)
		}
	}
}

func writeArgs(e *Enc, args []Arg) {
	e.Array(len(args))
	for i := range args {
		writeArg(e, &args[i])
	}
}

// writeArg appends one argument map with Redis's key order: name, type,
// key_spec_index, token, since, flags, arguments.
func writeArg(e *Enc, a *Arg) {
	nflags := 0
	if a.Optional {
		nflags++
	}
	if a.Multiple {
		nflags++
	}
	if a.MultipleToken {
		nflags++
	}
	n := 2
	if a.Type == "key" {
		n++
	}
	if a.Token != "" {
		n++
	}
	if a.Since != "" {
		n++
	}
	if nflags > 0 {
		n++
	}
	if len(a.Args) > 0 {
		n++
	}
	e.Map(n)
	e.BulkString("name")
	e.BulkString(a.Name)
	e.BulkString("type")
	e.BulkString(a.Type)
	if a.Type == "key" {
		// Every segd command has at most one key specification.
		e.BulkString("key_spec_index")
		e.Int(0)
	}
	if a.Token != "" {
		e.BulkString("token")
		e.BulkString(a.Token)
	}
	if a.Since != "" {
		e.BulkString("since")
		e.BulkString(a.Since)
	}
	if nflags > 0 {
		e.BulkString("flags")
		e.Set(nflags)
		if a.Optional {
			e.SimpleString("optional")
		}
		if a.Multiple {
			e.SimpleString("multiple")
		}
		if a.MultipleToken {
			e.SimpleString("multiple_token")
		}
	}
	if len(a.Args) > 0 {
		e.BulkString("arguments")
		writeArgs(e, a.Args)
	}
}

// Syntax renders the argument list the way redis-cli shows it as a hint,
// e.g. "expr [CURSOR cursor] [COUNT count] [AT time]".
func (c *Command) Syntax() string {
	var b strings.Builder
	for i := range c.Args {
		if i > 0 {
			b.WriteByte(' ')
		}
		writeSyntax(&b, &c.Args[i])
	}
	return b.String()
}

func writeSyntax(b *strings.Builder, a *Arg) {
	var repeat strings.Builder
	switch a.Type {
	case "oneof", "block":
		sep := "|"
		if a.Type == "block" {
			sep = " "
		}
		for i := range a.Args {
			if i > 0 {
				repeat.WriteString(sep)
			}
			writeSyntax(&repeat, &a.Args[i])
		}
	case "pure-token":
	default:
		repeat.WriteString(a.Name)
	}
	token := a.Token
	if token != "" && a.Type != "pure-token" {
		token += " "
	}
	if a.Optional {
		b.WriteByte('[')
	}
	b.WriteString(token)
	b.WriteString(repeat.String())
	if a.Multiple {
		b.WriteString(" [")
		if a.MultipleToken {
			b.WriteString(token)
		}
		b.WriteString(repeat.String())
		b.WriteString(" ...]")
	}
	if a.Optional {
		b.WriteByte(']')
	}
}

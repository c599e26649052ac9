package protocol

import (
	"slices"
	"strings"
	"testing"
)

// coreCommands is every command of SPEC section 3 but SEGMENT.*.
var coreCommands = []string{
	"field.create", "field.drop", "field.list", "field.info", "field.values",
	"ent.set", "ent.unset", "ent.add", "ent.rem", "ent.track", "ent.get", "ent.del", "ent.exists", "ent.count",
	"query.count", "query.members", "query.ismember", "query.explain", "query.groupby", "query.stats", "query.top",
	"ping", "echo", "quit", "hello", "auth", "select", "client", "info", "command", "config", "time",
	"dbsize", "save", "bgsave", "lastsave", "flushall", "shutdown",
	"subscribe", "psubscribe", "unsubscribe", "punsubscribe", "publish",
	"backup.begin", "backup.read", "backup.end",
	"restore.begin", "restore.write", "restore.commit", "restore.abort",
}

func TestTableHasCoreCommands(t *testing.T) {
	for _, n := range coreCommands {
		if Lookup([]byte(n)) == nil {
			t.Errorf("missing command %s", n)
		}
	}
	subs := map[string][]string{
		"client":  {"id", "setname", "getname", "setinfo", "list", "kill"},
		"command": {"count", "info", "docs", "list"},
		"config":  {"get"},
	}
	for c, ss := range subs {
		for _, s := range ss {
			if LookupSub(Lookup([]byte(c)), []byte(s)) == nil {
				t.Errorf("missing subcommand %s %s", c, s)
			}
		}
	}
}

var argTypes = []string{"key", "string", "integer", "double", "pattern", "unix-time", "pure-token", "oneof", "block"}

// minArgs is the fewest words args can take; variable reports whether
// they can take more.
func minArgs(args []Arg) (n int, variable bool) {
	for _, a := range args {
		m, v := minArg(a)
		if a.Optional || a.Multiple {
			v = true
		}
		if !a.Optional {
			n += m
		}
		variable = variable || v
	}
	return n, variable
}

func minArg(a Arg) (n int, variable bool) {
	if a.Token != "" && a.Type != "pure-token" {
		n++
	}
	switch a.Type {
	case "pure-token":
		n++
	case "block":
		m, v := minArgs(a.Args)
		n += m
		variable = v
	case "oneof":
		best := -1
		for _, alt := range a.Args {
			m, v := minArg(alt)
			if alt.Optional {
				m = 0
			}
			if best >= 0 && m != best {
				variable = true
			}
			if best < 0 || m < best {
				best = m
			}
			variable = variable || v || alt.Optional || alt.Multiple
		}
		n += best
	default:
		n++
	}
	return n, variable
}

func checkArgs(t *testing.T, cmd string, args []Arg) {
	names := map[string]bool{}
	for _, a := range args {
		if a.Name == "" {
			t.Errorf("%s: argument without a name", cmd)
		}
		if names[a.Name+" "+a.Token] && a.Type != "pure-token" {
			t.Errorf("%s: duplicate argument name %q", cmd, a.Name)
		}
		names[a.Name+" "+a.Token] = true
		if !slices.Contains(argTypes, a.Type) {
			t.Errorf("%s: argument %s: unknown type %q", cmd, a.Name, a.Type)
		}
		if a.Type == "pure-token" && a.Token == "" {
			t.Errorf("%s: pure-token %s without a token", cmd, a.Name)
		}
		if (a.Type == "oneof" || a.Type == "block") != (len(a.Args) > 0) {
			t.Errorf("%s: argument %s: nested arguments only (and always) for oneof and block", cmd, a.Name)
		}
		if a.MultipleToken && !a.Multiple {
			t.Errorf("%s: argument %s: multiple_token without multiple", cmd, a.Name)
		}
		if a.Token != strings.ToUpper(a.Token) {
			t.Errorf("%s: token %q not upper case", cmd, a.Token)
		}
		checkArgs(t, cmd+" "+a.Name, a.Args)
	}
}

func hasKeyArg(args []Arg) bool {
	for _, a := range args {
		if a.Type == "key" || hasKeyArg(a.Args) {
			return true
		}
	}
	return false
}

// arityExceptions are the arities Redis 7 gives where the arguments alone
// would imply another.
var arityExceptions = map[string]int{
	"client|kill": -3, // at least one filter, though each is optional
	"quit":        -1, // extra arguments are ignored
}

func TestTableConsistency(t *testing.T) {
	seen := map[string]bool{}
	var check func(c *Command, sub bool)
	check = func(c *Command, sub bool) {
		if seen[c.Name] {
			t.Errorf("duplicate name %s", c.Name)
		}
		seen[c.Name] = true
		if c.Name != strings.ToLower(c.Name) {
			t.Errorf("%s: name not lower case", c.Name)
		}
		if sub != strings.Contains(c.Name, "|") {
			t.Errorf("%s: subcommands, and only they, are named parent|sub", c.Name)
		}
		if sub && !strings.HasPrefix(c.Name, c.Parent.Name+"|") {
			t.Errorf("%s: not named after its parent %s", c.Name, c.Parent.Name)
		}
		if c.Summary == "" || c.Since == "" || c.Group == "" || c.Complexity == "" {
			t.Errorf("%s: summary, since, group and complexity are required", c.Name)
		}
		if strings.ContainsAny(c.Summary, "\r\n") {
			t.Errorf("%s: summary on several lines", c.Name)
		}
		for _, f := range c.Flags {
			if !slices.Contains(KnownFlags, f) {
				t.Errorf("%s: unknown flag %q", c.Name, f)
			}
		}
		if c.HasFlag("write") && c.HasFlag("readonly") {
			t.Errorf("%s: both write and readonly", c.Name)
		}
		// Arity matches the arguments.
		words := 1
		if sub {
			words = 2
		}
		if len(c.Subcommands) > 0 {
			if c.Arity != -2 && c.Arity != -1 {
				t.Errorf("%s: container arity %d, want -2 (or -1 when it works alone)", c.Name, c.Arity)
			}
			if len(c.Args) > 0 {
				t.Errorf("%s: a container has no arguments of its own", c.Name)
			}
			for _, s := range c.Subcommands {
				if s.Parent != c {
					t.Errorf("%s: parent not set", s.Name)
				}
				check(s, true)
			}
		} else {
			n, variable := minArgs(c.Args)
			want := words + n
			if variable {
				want = -want
			}
			if exception, ok := arityExceptions[c.Name]; ok {
				want = exception
			}
			if c.Arity != want {
				t.Errorf("%s: arity %d, arguments %q imply %d", c.Name, c.Arity, c.Syntax(), want)
			}
		}
		checkArgs(t, c.Name, c.Args)
		// Key positions match the key arguments.
		if hasKeyArg(c.Args) != (c.FirstKey > 0) {
			t.Errorf("%s: key arguments and FirstKey %d disagree", c.Name, c.FirstKey)
		}
		if c.FirstKey > 0 {
			if c.Step < 1 || (c.LastKey != -1 && c.LastKey < c.FirstKey) {
				t.Errorf("%s: bad key positions %d %d %d", c.Name, c.FirstKey, c.LastKey, c.Step)
			}
			if c.Args[c.FirstKey-words].Type != "key" {
				t.Errorf("%s: argument %d is not the key", c.Name, c.FirstKey)
			}
		}
	}
	for _, c := range All() {
		check(c, false)
	}
	if !slices.IsSortedFunc(All(), func(a, b *Command) int { return strings.Compare(a.Name, b.Name) }) {
		t.Error("All() not sorted")
	}
}

func TestTableFlagsPolicy(t *testing.T) {
	noAuth := []string{"auth", "hello", "ping", "quit"}
	loading := []string{"ping", "info", "hello", "auth", "quit", "command", "select", "time", "shutdown",
		"client|id", "client|setname", "client|getname", "client|setinfo", "client|list", "client|kill",
		"command|count", "command|info", "command|docs", "command|list", "config|get"}
	var all []*Command
	for _, c := range All() {
		all = append(all, c)
		all = append(all, c.Subcommands...)
	}
	for _, c := range all {
		if c.HasFlag("no_auth") != slices.Contains(noAuth, c.Name) {
			t.Errorf("%s: no_auth flag %v", c.Name, c.HasFlag("no_auth"))
		}
		if slices.Contains(loading, c.Name) && !c.HasFlag("loading") {
			t.Errorf("%s: must be allowed while loading", c.Name)
		}
		if strings.HasPrefix(c.Name, "ent.") || strings.HasPrefix(c.Name, "field.") || strings.HasPrefix(c.Name, "query.") {
			if c.HasFlag("loading") {
				t.Errorf("%s: data commands answer LOADING while loading", c.Name)
			}
			if !c.HasFlag("write") && !c.HasFlag("readonly") {
				t.Errorf("%s: neither write nor readonly", c.Name)
			}
		}
	}
	for _, n := range []string{"ent.set", "ent.add", "ent.track", "field.create"} {
		if c := Lookup([]byte(n)); !c.HasFlag("write") || !c.HasFlag("denyoom") {
			t.Errorf("%s: want write, denyoom", n)
		}
	}
	for _, n := range []string{"ent.exists", "ent.count", "dbsize"} {
		if c := Lookup([]byte(n)); !c.HasFlag("readonly") || !c.HasFlag("fast") {
			t.Errorf("%s: want readonly, fast", n)
		}
	}
	if c := Lookup([]byte("ent.del")); c.FirstKey != 1 || c.LastKey != -1 || c.Step != 1 {
		t.Errorf("ent.del keys %d %d %d", c.FirstKey, c.LastKey, c.Step)
	}
	if c := Lookup([]byte("query.ismember")); c.FirstKey != 2 || c.LastKey != 2 || c.Step != 1 {
		t.Errorf("query.ismember keys %d %d %d", c.FirstKey, c.LastKey, c.Step)
	}
}

func TestSyntaxHints(t *testing.T) {
	// What redis-cli shows after the command name.
	want := map[string]string{
		"field.create":   "field ENUM|TAGS|INT|EVENT [GRANULARITY HOUR|DAY] [RETENTION duration]",
		"field.values":   "field [LIMIT count]",
		"ent.set":        "key field value [field value ...]",
		"ent.unset":      "key field [field ...]",
		"ent.add":        "key field value [value ...]",
		"ent.track":      "key field[:value] [AT time] [AMOUNT amount]",
		"ent.get":        "key [field [field ...]]",
		"ent.del":        "key [key ...]",
		"query.count":    "expr [AT time]",
		"query.members":  "expr [CURSOR cursor] [COUNT count] [AT time]",
		"query.ismember": "expr key [AT time]",
		"query.groupby":  "field [WHERE expr] [LIMIT count] [AT time]",
		"query.stats":    "measure [WHERE expr] [AT time]",
		"query.top":      "k measure [WHERE expr] [AT time]",
		"hello":          "[protover [AUTH username password] [SETNAME clientname]]",
		"auth":           "[username] password",
		"shutdown":       "[NOSAVE|SAVE]",
		"info":           "[section [section ...]]",
	}
	for n, w := range want {
		if got := Lookup([]byte(n)).Syntax(); got != w {
			t.Errorf("%s: hint %q, want %q", n, got, w)
		}
	}
	if got := LookupSub(Lookup([]byte("config")), []byte("GET")).Syntax(); got != "parameter [parameter ...]" {
		t.Errorf("config get: %q", got)
	}
}

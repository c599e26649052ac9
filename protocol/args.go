package protocol

import (
	"errors"
	"strconv"
)

// ErrNotInteger is Redis's message for an argument that is not a canonical
// decimal 64-bit integer. ErrorOf makes it an ERR reply.
var ErrNotInteger = errors.New("value is not an integer or out of range")

// ParseInt parses a strict, canonical decimal int64: an optional '-' then
// digits, no '+', no spaces, no leading zeros except "0" itself; "-0" is
// rejected. It does not allocate.
func ParseInt(b []byte) (int64, error) {
	if len(b) == 0 || len(b) > 20 {
		return 0, ErrNotInteger
	}
	neg := b[0] == '-'
	d := b
	if neg {
		d = b[1:]
	}
	if len(d) == 0 || (d[0] == '0' && (len(d) > 1 || neg)) {
		return 0, ErrNotInteger
	}
	var u uint64
	for _, c := range d {
		if c < '0' || c > '9' {
			return 0, ErrNotInteger
		}
		if u > (1<<64-1)/10 {
			return 0, ErrNotInteger
		}
		u = u*10 + uint64(c-'0')
		if u < uint64(c-'0') { // wrapped
			return 0, ErrNotInteger
		}
	}
	if neg {
		if u > 1<<63 {
			return 0, ErrNotInteger
		}
		return -int64(u), nil // -(1<<63) wraps to itself: math.MinInt64
	}
	if u > 1<<63-1 {
		return 0, ErrNotInteger
	}
	return int64(u), nil
}

// IsCanonicalInt reports whether b is a value ParseInt accepts (SPEC: a
// canonical decimal integer makes ENT.SET create an INT field).
func IsCanonicalInt(b []byte) bool {
	_, err := ParseInt(b)
	return err == nil
}

// EqualFold reports whether b equals s ignoring ASCII case, without
// allocating. Bytes outside ASCII must match exactly.
func EqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c, d := b[i], s[i]
		if c == d {
			continue
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if 'A' <= d && d <= 'Z' {
			d += 'a' - 'A'
		}
		if c != d {
			return false
		}
	}
	return true
}

func equalFoldString(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		c, d := a[i], b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if 'A' <= d && d <= 'Z' {
			d += 'a' - 'A'
		}
		if c != d {
			return false
		}
	}
	return true
}

// Option describes one trailing option a command accepts: its token, which
// matches case-insensitively, and the number of values that follow it (0
// for a flag such as REPLACE).
type Option struct {
	Token string
	N     int
}

// MaxOptions is the most options one ParseOptions spec may list.
const MaxOptions = 8

// Opts is the result of ParseOptions. Values are sub-slices of the
// arguments given to ParseOptions, not copies. A token given twice is an
// error: "COUNT 2 COUNT 3" is more likely a mistake than a wish.
type Opts struct {
	spec []Option
	set  [MaxOptions]bool
	vals [MaxOptions][][]byte
}

// ParseOptions scans args, all of which must be options of spec, for
// example the arguments after the expression of QUERY.MEMBERS:
//
//	var membersOpts = []protocol.Option{{"CURSOR", 1}, {"COUNT", 1}, {"AT", 1}}
//	o, err := protocol.ParseOptions("QUERY.MEMBERS", args[2:], membersOpts)
//
// cmd names the command in errors: "unknown option 'FOO' for 'QUERY.COUNT'",
// "option COUNT needs a value" (or "needs 2 values"), "option COUNT given
// twice". ErrorOf makes it an ERR reply.
// It allocates nothing when the arguments are valid. It panics when spec has
// more than MaxOptions options.
func ParseOptions(cmd string, args [][]byte, spec []Option) (Opts, error) {
	if len(spec) > MaxOptions {
		panic("protocol: too many options in spec")
	}
	o := Opts{spec: spec}
	for i := 0; i < len(args); {
		k := -1
		for j := range spec {
			if EqualFold(args[i], spec[j].Token) {
				k = j
				break
			}
		}
		if k < 0 {
			return Opts{}, errors.New("unknown option '" + string(clip(args[i], 128)) + "' for '" + cmd + "'")
		}
		n := spec[k].N
		if len(args)-i-1 < n {
			if n == 1 {
				return Opts{}, errors.New("option " + spec[k].Token + " needs a value")
			}
			return Opts{}, errors.New("option " + spec[k].Token + " needs " + strconv.Itoa(n) + " values")
		}
		if o.set[k] {
			return Opts{}, errors.New("option " + spec[k].Token + " given twice")
		}
		o.set[k] = true
		o.vals[k] = args[i+1 : i+1+n : i+1+n]
		i += 1 + n
	}
	return o, nil
}

func (o *Opts) index(token string) int {
	for j := range o.spec {
		if equalFoldString(o.spec[j].Token, token) {
			return j
		}
	}
	return -1
}

// Has reports whether the option token was given.
func (o *Opts) Has(token string) bool {
	k := o.index(token)
	return k >= 0 && o.set[k]
}

// Value returns the first value of the option token, or nil when the
// option was not given (or takes no value).
func (o *Opts) Value(token string) []byte {
	k := o.index(token)
	if k < 0 || !o.set[k] || len(o.vals[k]) == 0 {
		return nil
	}
	return o.vals[k][0]
}

// Values returns every value of the option token, or nil when it was not
// given.
func (o *Opts) Values(token string) [][]byte {
	k := o.index(token)
	if k < 0 || !o.set[k] {
		return nil
	}
	return o.vals[k]
}

// Int returns the option's value parsed with ParseInt, or def when the
// option was not given. The error reads "COUNT is not an integer or out of
// range"; ErrorOf makes it an ERR reply.
func (o *Opts) Int(token string, def int64) (int64, error) {
	v := o.Value(token)
	if v == nil {
		return def, nil
	}
	n, err := ParseInt(v)
	if err != nil {
		return 0, errors.New(token + " is not an integer or out of range")
	}
	return n, nil
}

// Options returns the options of the command's grammar in the table, for
// ParseOptions: every top-level argument introduced by a token ("[COUNT
// count]", "SINCE version", "[REPLACE]"), with the number of values that
// follow it. An argument that repeats ("[FIELDS field [field ...]]") has no
// fixed count and is left out: its command parses it by hand.
func (c *Command) Options() []Option { return c.options }

// ParseOptions is ParseOptions of args with the command's Options, naming
// the command in upper case in its errors.
func (c *Command) ParseOptions(args [][]byte) (Opts, error) {
	return ParseOptions(c.upper, args, c.options)
}

func optionsOf(args []Arg) []Option {
	var out []Option
	for _, a := range args {
		if a.Token == "" || a.Multiple {
			continue
		}
		n := 1
		switch a.Type {
		case "pure-token":
			n = 0
		case "block":
			n = len(a.Args)
		}
		out = append(out, Option{Token: a.Token, N: n})
	}
	if len(out) > MaxOptions {
		panic("protocol: too many options in the grammar of a command")
	}
	return out
}

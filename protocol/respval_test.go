package protocol

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// rv is a parsed RESP value, for tests: T is the type byte ('+', '-', ':',
// '$', '*', '%', '~', '>', ',', '#', '(', '=', '_'), S the text of simple
// values and bulks, Null a null bulk or array, E the elements of aggregates
// (2n for maps).
type rv struct {
	T    byte
	S    string
	Null bool
	E    []rv
}

// parseRV parses one RESP2/RESP3 value from b and returns the rest.
func parseRV(b []byte) (rv, []byte, error) {
	i := bytes.Index(b, []byte("\r\n"))
	if i < 1 {
		return rv{}, b, errors.New("incomplete line")
	}
	t, line, rest := b[0], string(b[1:i]), b[i+2:]
	switch t {
	case '+', '-', ':', ',', '#', '(', '_':
		return rv{T: t, S: line, Null: t == '_'}, rest, nil
	case '$', '=':
		n, err := strconv.Atoi(line)
		if err != nil {
			return rv{}, b, err
		}
		if n < 0 {
			return rv{T: t, Null: true}, rest, nil
		}
		if len(rest) < n+2 || string(rest[n:n+2]) != "\r\n" {
			return rv{}, b, errors.New("bad bulk")
		}
		return rv{T: t, S: string(rest[:n])}, rest[n+2:], nil
	case '*', '~', '>', '%':
		n, err := strconv.Atoi(line)
		if err != nil {
			return rv{}, b, err
		}
		if n < 0 {
			return rv{T: t, Null: true}, rest, nil
		}
		if t == '%' {
			n *= 2
		}
		v := rv{T: t, E: []rv{}}
		for k := 0; k < n; k++ {
			var e rv
			e, rest, err = parseRV(rest)
			if err != nil {
				return rv{}, b, err
			}
			v.E = append(v.E, e)
		}
		return v, rest, nil
	}
	return rv{}, b, fmt.Errorf("unknown type %q", t)
}

// mustParse parses exactly one value.
func mustParse(b []byte) rv {
	v, rest, err := parseRV(b)
	if err != nil {
		panic(err)
	}
	if len(rest) != 0 {
		panic(fmt.Sprintf("trailing %d bytes", len(rest)))
	}
	return v
}

// get returns the value of key in a map (RESP3 map or RESP2 flat array).
func (v rv) get(key string) (rv, bool) {
	for i := 0; i+1 < len(v.E); i += 2 {
		if v.E[i].S == key {
			return v.E[i+1], true
		}
	}
	return rv{}, false
}

// keys returns the keys of a map.
func (v rv) keys() []string {
	var k []string
	for i := 0; i+1 < len(v.E); i += 2 {
		k = append(k, v.E[i].S)
	}
	return k
}

// show renders a RESP byte string on one line, CRLF as spaces.
func show(b []byte) string { return strings.ReplaceAll(string(b), "\r\n", " ") }

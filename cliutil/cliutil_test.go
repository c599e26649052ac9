package cliutil

import (
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
)

func newFS() (*flag.FlagSet, *string, *bool) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs, fs.String("addr", "", ""), fs.Bool("quiet", false, "")
}

func TestParseWithFile(t *testing.T) {
	for _, args := range [][]string{
		{"f.csv", "--addr", "h:1", "--quiet"},
		{"--addr", "h:1", "f.csv", "--quiet"},
		{"--quiet", "--addr=h:1", "f.csv"},
	} {
		fs, addr, quiet := newFS()
		file, err := ParseWithFile(fs, args)
		if err != nil || file != "f.csv" || *addr != "h:1" || !*quiet {
			t.Errorf("%q: file %q, err %v, addr %q, quiet %v", args, file, err, *addr, *quiet)
		}
	}
	fs, _, _ := newFS()
	if file, err := ParseWithFile(fs, []string{"-", "--quiet"}); err != nil || file != "-" {
		t.Errorf("stdin: %q, %v", file, err)
	}
}

func TestParseWithFileErrors(t *testing.T) {
	fs, _, _ := newFS()
	if _, err := ParseWithFile(fs, []string{"f", "-h"}); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
	fs, _, _ = newFS()
	if _, err := ParseWithFile(fs, []string{"--nope", "f"}); err == nil || errors.Is(err, flag.ErrHelp) || errors.Is(err, ErrFile) {
		t.Errorf("bad flag: %v", err)
	}
	fs, _, _ = newFS()
	if _, err := ParseWithFile(fs, []string{"--quiet"}); !errors.Is(err, ErrFile) || !strings.Contains(err.Error(), "got none") {
		t.Errorf("no file: %v", err)
	}
	fs, _, _ = newFS()
	if _, err := ParseWithFile(fs, []string{"a", "--quiet", "b"}); !errors.Is(err, ErrFile) || !strings.Contains(err.Error(), "got 2: a b") {
		t.Errorf("two files: %v", err)
	}
}

func TestExitCode(t *testing.T) {
	fs, _, _ := newFS()
	usage := 0
	fs.Usage = func() { usage++ }
	for _, c := range []struct {
		args        []string
		code, usage int
	}{{[]string{"-h"}, 0, 1}, {[]string{"--nope"}, 2, 2}, {[]string{}, 2, 3}, {[]string{"a", "b"}, 2, 4}} {
		_, err := ParseWithFile(fs, c.args)
		if code := ExitCode(fs, err); code != c.code || usage != c.usage {
			t.Errorf("%q: exit %d, usage shown %d times; want %d, %d", c.args, code, usage, c.code, c.usage)
		}
	}
}

func TestServerEnv(t *testing.T) {
	addr, pass := "127.0.0.1:6479", ""
	ServerEnv([]string{"HOME=/x", "SEGD_ADDR=10.1.1.1:7000", "SEGD_PASSWORD=p=q"}, &addr, &pass)
	if addr != "10.1.1.1:7000" || pass != "p=q" {
		t.Fatalf("ServerEnv: %q %q", addr, pass)
	}
	ServerEnv(nil, &addr, &pass)
	if addr != "10.1.1.1:7000" {
		t.Fatal("unset variables must leave values alone")
	}
}

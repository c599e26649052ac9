// Package cliutil holds small helpers shared by segd's command-line tools.
// It imports nothing from segd.
package cliutil

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
)

// ErrFile is wrapped by the error of ParseWithFile when there is not exactly
// one FILE argument (a caller shows its usage then).
var ErrFile = errors.New("want exactly one FILE argument")

// ParseWithFile parses args with fs where the flags may come before or after
// the one FILE argument, and returns that argument. A request for help
// (-h, --help) is returned as flag.ErrHelp as is; a bad flag as fs.Parse
// reports it (fs has already printed it and its usage); no FILE, or more than
// one, as an error wrapping ErrFile that says so (fs.Usage is not called).
func ParseWithFile(fs *flag.FlagSet, args []string) (file string, err error) {
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			return "", err
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		args = fs.Args()[1:]
	}
	switch len(files) {
	case 1:
		return files[0], nil
	case 0:
		return "", fmt.Errorf("%w, got none", ErrFile)
	}
	return "", fmt.Errorf("%w, got %d: %s", ErrFile, len(files), strings.Join(files, " "))
}

// ExitCode is the exit code of a command whose ParseWithFile failed with err:
// 0 for a request for help, else 2, after showing fs.Usage when the FILE
// argument was missing or repeated (a bad flag has shown it already).
func ExitCode(fs *flag.FlagSet, err error) int {
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, ErrFile):
		fs.Usage()
	}
	return 2
}

// ServerEnv fills addr and password from SEGD_ADDR and SEGD_PASSWORD in env
// (as os.Environ gives it), leaving them as they are when unset.
func ServerEnv(env []string, addr, password *string) {
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			switch k {
			case "SEGD_ADDR":
				*addr = v
			case "SEGD_PASSWORD":
				*password = v
			}
		}
	}
}

// TLSConfig is the client TLS configuration of `segd import`, `backup` and
// `restore`: nil without TLS (useTLS false and no caFile); with caFile, only
// that CA is trusted; with useTLS alone, the system's CAs. The server name
// is addr's host.
func TLSConfig(addr string, useTLS bool, caFile string) (*tls.Config, error) {
	if !useTLS && caFile == "" {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if host, _, err := net.SplitHostPort(addr); err == nil {
		cfg.ServerName = host
	}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: no PEM certificate", caFile)
		}
	}
	return cfg, nil
}

// Refusal turns a server's error reply to a tool's first command into one
// line a person can act on: a missing or wrong password, or a server that
// is not segd.
func Refusal(addr, password, msg string) error {
	switch {
	case strings.HasPrefix(msg, "NOAUTH") && password == "":
		return fmt.Errorf("%s needs a password: give --password or set SEGD_PASSWORD", addr)
	case strings.HasPrefix(msg, "WRONGPASS") || strings.HasPrefix(msg, "NOAUTH") || strings.Contains(msg, "invalid password"):
		return fmt.Errorf("%s refused the password: %s", addr, msg)
	case strings.Contains(msg, "unknown command"):
		return fmt.Errorf("%s is not a segd server (%s)", addr, msg)
	}
	return fmt.Errorf("%s: %s", addr, msg)
}

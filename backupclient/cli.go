package backupclient

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/segd-db/segd/cliutil"
	"github.com/segd-db/segd/progress"
)

// DefaultAddr is where `segd backup` and `segd restore` look for the server
// (segd's default).
const DefaultAddr = "127.0.0.1:6479"

// RunCLI runs `segd backup FILE` or `segd restore FILE` (cmd is
// "backup" or "restore"; args follow it) and returns the exit code.
func RunCLI(cmd string, args, env []string, stdin io.Reader, stdout, stderr io.Writer) int {
	o := Options{Addr: DefaultAddr, Progress: stderr}
	cliutil.ServerEnv(env, &o.Addr, &o.Password)
	fs := flag.NewFlagSet("segd "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.Addr, "addr", o.Addr, "address of the segd server (also SEGD_ADDR)")
	fs.StringVar(&o.Password, "password", o.Password, "password of the server (also SEGD_PASSWORD)")
	fs.StringVar(&o.TLSCA, "tls-ca", "", "CA certificate (PEM) of a server that serves TLS")
	fs.BoolVar(&o.TLS, "tls", false, "connect with TLS, trusting the system's CAs")
	quiet := fs.Bool("quiet", false, "no progress bar")
	force := fs.Bool("force", false, "restore: replace the data of a server that holds some without asking")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: segd %s FILE [--addr host:port] [--password P] [--tls-ca F] [--force]\n", cmd)
		fs.PrintDefaults()
	}
	file, err := cliutil.ParseWithFile(fs, args) // flags may come before or after FILE
	if err != nil {
		return cliutil.ExitCode(fs, err)
	}
	if *quiet {
		o.Progress = nil
	}
	ctx := context.Background()
	h, err := preflight(ctx, o)
	if err != nil {
		fmt.Fprintf(stderr, "segd %s: %v\n", cmd, err)
		return 2
	}
	if cmd == "restore" {
		if err := confirmRestore(o, h, *force, stdin, stderr); err != nil {
			fmt.Fprintln(stderr, "segd restore:", err)
			return 2
		}
	}
	if cmd == "backup" {
		s, err := Backup(ctx, o, file)
		if err != nil {
			fmt.Fprintln(stderr, "segd backup:", err)
			return 1
		}
		fmt.Fprintf(stdout, "backup %s: %d entities, %d parts, %s, consistent with log seq %d, verified, in %.1fs\n",
			s.File, s.Entities, s.Parts, progress.Size(s.Bytes), s.Seq, s.Took.Seconds())
		return 0
	}
	s, err := Restore(ctx, o, file)
	if err != nil {
		fmt.Fprintln(stderr, "segd restore:", err)
		return 1
	}
	fmt.Fprintf(stdout, "restored %s into %s: %d entities, %s, backup of %s (log seq %d), in %.1fs\n",
		s.File, o.Addr, s.Entities, progress.Size(s.Bytes), s.Created.Format(time.RFC3339), s.Seq, s.Took.Seconds())
	return 0
}

package importer

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/segd-db/segd/cliutil"
	"github.com/segd-db/segd/progress"
)

// DefaultAddr is where `segd import` looks for the server (segd's default).
const DefaultAddr = "127.0.0.1:6479"

// RunCLI runs `segd import FILE [flags]` (args follow "import") and returns
// the exit code: 0 when every row went in, 1 when some rows were bad, 2 on a
// fatal error (usage, unreadable file, missing key column, no server).
func RunCLI(args, env []string, stdin io.Reader, stdout, stderr io.Writer) int {
	o := Options{Addr: DefaultAddr, Progress: stderr}
	cliutil.ServerEnv(env, &o.Addr, &o.Password)
	fs := flag.NewFlagSet("segd import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.Addr, "addr", o.Addr, "address of the segd server (also SEGD_ADDR)")
	fs.StringVar(&o.Password, "password", o.Password, "password of the server (also SEGD_PASSWORD)")
	useTLS := fs.Bool("tls", false, "connect with TLS, trusting the system's CAs")
	tlsCA := fs.String("tls-ca", "", "CA certificate (PEM) of a server that serves TLS (implies --tls)")
	fs.StringVar(&o.Format, "format", "", "csv or ndjson (default: from the extension .csv, .ndjson, .jsonl, else from the first byte)")
	fs.IntVar(&o.Batch, "batch", 500, "commands per pipeline")
	fs.IntVar(&o.Connections, "connections", 4, "connections to the server")
	fs.StringVar(&o.TagsSep, "tags-sep", ";", "separator of the values in a TAGS cell (CSV)")
	tags := fs.String("tags", "", "comma-separated CSV columns to import as TAGS (besides columns named field[])")
	fs.IntVar(&o.MaxErrors, "max-errors", 0, "stop reading after this many bad rows (0: never)")
	errorsFile := fs.String("errors-file", "", "write every bad row to this file as 'line N: reason'")
	quiet := fs.Bool("quiet", false, "no progress display")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: segd import FILE|- [--addr host:port] [--password P] [--tls] [--tls-ca F] [--format csv|ndjson] [--batch 500]\n"+
			"                   [--connections 4] [--tags f1,f2] [--tags-sep ';'] [--max-errors N] [--errors-file F] [--quiet]")
		fs.PrintDefaults()
	}
	file, err := cliutil.ParseWithFile(fs, args) // flags may come before or after FILE
	if err != nil {
		return cliutil.ExitCode(fs, err)
	}
	fail := func(err error) int {
		fmt.Fprintln(stderr, "segd import:", err)
		return 2
	}
	switch o.Format {
	case "", "csv", "ndjson":
	case "jsonl", "json":
		o.Format = "ndjson"
	default:
		return fail(fmt.Errorf("--format %q: csv or ndjson", o.Format))
	}
	if o.Batch < 1 || o.Connections < 1 || o.MaxErrors < 0 {
		return fail(errors.New("--batch and --connections must be at least 1, --max-errors at least 0"))
	}
	if o.TLS, err = cliutil.TLSConfig(o.Addr, *useTLS, *tlsCA); err != nil {
		return fail(fmt.Errorf("--tls-ca: %w", err))
	}
	if *tags != "" {
		o.Tags = strings.Split(*tags, ",")
	}
	if *quiet {
		o.Progress = nil
	}

	name := file
	in, size := stdin, int64(0)
	if name == "-" {
		name = "stdin"
		if f, ok := stdin.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
				size = st.Size()
			}
		}
	} else {
		f, err := os.Open(name)
		if err != nil {
			return fail(err)
		}
		defer f.Close()
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			size = st.Size()
		} else if err == nil && st.IsDir() {
			return fail(fmt.Errorf("%s is a directory", name))
		}
		in = f
		if o.Format == "" {
			switch strings.ToLower(filepath.Ext(name)) {
			case ".csv":
				o.Format = "csv"
			case ".ndjson", ".jsonl":
				o.Format = "ndjson"
			}
		}
	}
	var errw *bufio.Writer
	if *errorsFile != "" {
		f, err := os.Create(*errorsFile)
		if err != nil {
			return fail(err)
		}
		defer f.Close()
		errw = bufio.NewWriter(f)
		o.Errors = errw
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sum, err := Import(ctx, o, in, size)
	if errw != nil {
		if ferr := errw.Flush(); ferr != nil {
			fmt.Fprintln(stderr, "segd import: --errors-file:", ferr)
		}
	}
	if err != nil && sum.Rows == 0 {
		return fail(fmt.Errorf("%s: %w", name, err))
	}
	printSummary(stdout, name, o, sum, *errorsFile)
	switch {
	case err != nil:
		return fail(err)
	case sum.Stopped:
		fmt.Fprintf(stderr, "segd import: stopped after %d bad rows (--max-errors %d)\n", sum.Bad, o.MaxErrors)
		return 1
	case sum.Bad > 0:
		return 1
	}
	return 0
}

func printSummary(w io.Writer, name string, o Options, s Summary, errorsFile string) {
	secs := max(s.Took.Seconds(), 1e-6)
	fmt.Fprintf(w, "imported %s (%s, %s) into %s\n", name, s.Format, progress.Size(s.Bytes), o.Addr)
	fmt.Fprintf(w, "  rows read         %d\n", s.Rows)
	fmt.Fprintf(w, "  entities written  %d\n", s.Entities)
	if s.Events > 0 {
		fmt.Fprintf(w, "  events tracked    %d\n", s.Events)
	}
	fmt.Fprintf(w, "  commands sent     %d\n", s.Commands)
	fmt.Fprintf(w, "  bad rows          %d\n", s.Bad)
	if s.Empty > 0 {
		fmt.Fprintf(w, "  rows with no value (skipped)  %d\n", s.Empty)
	}
	fmt.Fprintf(w, "  time              %.2fs\n", s.Took.Seconds())
	fmt.Fprintf(w, "  rows/s            %.0f\n", float64(s.Rows)/secs)
	if len(s.First) == 0 {
		return
	}
	if s.Bad > int64(len(s.First)) {
		fmt.Fprintf(w, "first %d bad rows:\n", len(s.First))
	} else {
		fmt.Fprintln(w, "bad rows:")
	}
	for _, b := range s.First {
		fmt.Fprintf(w, "  line %d: %s\n", b.Line, b.Reason)
	}
	if more := s.Bad - int64(len(s.First)); more > 0 {
		if errorsFile != "" {
			fmt.Fprintf(w, "  … and %d more, all of them in %s\n", more, errorsFile)
		} else {
			fmt.Fprintf(w, "  … and %d more (--errors-file F lists them all)\n", more)
		}
	}
}

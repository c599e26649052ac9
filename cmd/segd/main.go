// Command segd is the segment database server; `segd backup FILE` and
// `segd restore FILE` back a running server up and restore it, and
// `segd import FILE` loads customers from CSV or NDJSON. See README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/segd-db/segd/backupclient"
	"github.com/segd-db/segd/importer"
	"github.com/segd-db/segd/server"
)

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "backup" || os.Args[1] == "restore") {
		os.Exit(backupclient.RunCLI(os.Args[1], os.Args[2:], os.Environ(), os.Stdin, os.Stdout, os.Stderr))
	}
	if len(os.Args) > 1 && os.Args[1] == "import" {
		os.Exit(importer.RunCLI(os.Args[2:], os.Environ(), os.Stdin, os.Stdout, os.Stderr))
	}
	if len(os.Args) == 2 && (os.Args[1] == "--version" || os.Args[1] == "-version" || os.Args[1] == "version") {
		fmt.Println(server.VersionLine())
		return
	}
	cfg, err := server.ParseConfig(os.Args[1:], os.Environ(), os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "segd:", err)
		os.Exit(2)
	}
	srv, err := server.New(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "segd:", err)
		os.Exit(1)
	}
	if err := srv.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "segd:", err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	select {
	case <-ctx.Done():
		srv.Close()
	case <-srv.Done():
	}
}

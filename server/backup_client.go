package server

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/segd-db/segd/cliutil"
	"github.com/segd-db/segd/progress"
	"github.com/segd-db/segd/storage"
)

// TransferOptions say how `segd backup` and `segd restore` reach a server.
type TransferOptions struct {
	Addr     string    // host:port
	Password string    // AUTH password, if the server has one
	TLSCA    string    // PEM file of the CA that signed the server's certificate; enables TLS
	TLS      bool      // TLS with the system's CAs
	Progress io.Writer // progress bar (nil: none)

	onBegin      func(seq uint64) // tests: right after BACKUP.BEGIN answers
	beforeCommit func()           // tests: right before RESTORE.COMMIT is sent
}

// TransferSummary describes a finished backup or restore.
type TransferSummary struct {
	File     string
	Bytes    int64
	Seq      uint64    // log seq the backup is consistent with
	Created  time.Time // when the backup was taken
	Entities uint64
	Parts    int
	Took     time.Duration
}

func (o TransferOptions) client() (*redis.Client, error) {
	opt := &redis.Options{
		Addr: o.Addr, Password: o.Password, Protocol: 2, DisableIdentity: true,
		MaxRetries: -1, ReadTimeout: 5 * time.Minute, WriteTimeout: time.Minute, PoolSize: 1,
	}
	if o.TLS || o.TLSCA != "" {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if host, _, err := net.SplitHostPort(o.Addr); err == nil {
			cfg.ServerName = host
		}
		if o.TLSCA != "" {
			pem, err := os.ReadFile(o.TLSCA)
			if err != nil {
				return nil, err
			}
			cfg.RootCAs = x509.NewCertPool()
			if !cfg.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("%s: no PEM certificate", o.TLSCA)
			}
		}
		opt.TLSConfig = cfg
	}
	return redis.NewClient(opt), nil
}

// Backup takes a backup of the server at o.Addr into path: the server
// snapshots consistently, the file is downloaded in chunks to a temporary
// file next to path, verified whole, synced and renamed into place.
func Backup(ctx context.Context, o TransferOptions, path string) (TransferSummary, error) {
	start := time.Now()
	sum := TransferSummary{File: path}
	rc, err := o.client()
	if err != nil {
		return sum, err
	}
	defer rc.Close()
	v, err := rc.Do(ctx, "BACKUP.BEGIN").Slice()
	if err != nil {
		return sum, fmt.Errorf("BACKUP.BEGIN: %w", err)
	}
	if len(v) != 3 {
		return sum, fmt.Errorf("BACKUP.BEGIN: unexpected reply %v", v)
	}
	id, _ := v[0].(string)
	size, _ := v[1].(int64)
	seq, _ := v[2].(int64)
	if o.onBegin != nil {
		o.onBegin(uint64(seq))
	}
	defer rc.Do(context.WithoutCancel(ctx), "BACKUP.END", id)

	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return sum, err
	}
	defer func() {
		if tmp != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bar := progress.New(o.Progress, "backup", progress.Bytes, size).Start()
	defer bar.Stop() // at once if it failed; a second Stop does nothing
	w := bufio.NewWriterSize(tmp, 1<<20)
	for off := int64(0); off < size; {
		chunk, err := rc.Do(ctx, "BACKUP.READ", id, off, maxTransferRead).Text()
		if err != nil {
			return sum, fmt.Errorf("BACKUP.READ at %d: %w", off, err)
		}
		if len(chunk) == 0 {
			return sum, fmt.Errorf("BACKUP.READ at %d: the backup ended early (%d bytes announced)", off, size)
		}
		if _, err := w.WriteString(chunk); err != nil {
			return sum, err
		}
		off += int64(len(chunk))
		bar.Set(off)
	}
	bar.Stop()
	if err := w.Flush(); err != nil {
		return sum, err
	}
	if _, err := tmp.Seek(0, 0); err != nil {
		return sum, err
	}
	bseq, created, parts, err := storage.ReadBackup(bufio.NewReaderSize(tmp, 1<<20))
	if err != nil {
		return sum, fmt.Errorf("the downloaded backup does not verify: %w", err)
	}
	if bseq != uint64(seq) {
		return sum, fmt.Errorf("the downloaded backup is of seq %d, the server announced %d", bseq, seq)
	}
	if err := tmp.Sync(); err != nil {
		return sum, err
	}
	if err := tmp.Close(); err != nil {
		return sum, err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return sum, err
	}
	tmp = nil
	syncDir(filepath.Dir(path))
	sum.Bytes, sum.Seq, sum.Created, sum.Parts = size, bseq, created, len(parts)
	sum.Entities, _ = backupEntities(parts)
	sum.Took = time.Since(start)
	return sum, nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// Restore replaces the whole data set of the server at o.Addr with the
// backup in path. The file is verified locally first, then uploaded in
// chunks; the server verifies it again and swaps it in at once. A failure
// at any point changes nothing.
func Restore(ctx context.Context, o TransferOptions, path string) (TransferSummary, error) {
	start := time.Now()
	sum := TransferSummary{File: path}
	f, err := os.Open(path)
	if err != nil {
		return sum, err
	}
	defer f.Close()
	seq, created, parts, err := storage.ReadBackup(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return sum, fmt.Errorf("%s: %w", path, err)
	}
	sum.Seq, sum.Created, sum.Parts = seq, created, len(parts)
	parts = nil
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return sum, err
	}
	if _, err := f.Seek(0, 0); err != nil {
		return sum, err
	}
	rc, err := o.client()
	if err != nil {
		return sum, err
	}
	defer rc.Close()
	v, err := rc.Do(ctx, "RESTORE.BEGIN", size).Slice()
	if err != nil {
		return sum, fmt.Errorf("RESTORE.BEGIN: %w", err)
	}
	if len(v) != 2 {
		return sum, fmt.Errorf("RESTORE.BEGIN: unexpected reply %v", v)
	}
	id, _ := v[0].(string)
	chunk, _ := v[1].(int64)
	chunk = max(256, min(chunk, maxTransferRead))
	committed := false
	defer func() {
		if !committed {
			rc.Do(context.WithoutCancel(ctx), "RESTORE.ABORT", id)
		}
	}()
	bar := progress.New(o.Progress, "restore", progress.Bytes, size).Start()
	defer bar.Stop() // at once if it failed; a second Stop does nothing
	buf := make([]byte, chunk)
	for off := int64(0); off < size; {
		n, err := io.ReadFull(f, buf[:min(chunk, size-off)])
		if err != nil {
			return sum, fmt.Errorf("%s: %w", path, err)
		}
		if err := rc.Do(ctx, "RESTORE.WRITE", id, off, buf[:n]).Err(); err != nil {
			return sum, fmt.Errorf("RESTORE.WRITE at %d: %w", off, err)
		}
		off += int64(n)
		bar.Set(off)
	}
	bar.Stop()
	if o.beforeCommit != nil {
		o.beforeCommit()
	}
	committed = true // the server ends the upload whatever COMMIT's outcome
	r, err := rc.Do(ctx, "RESTORE.COMMIT", id).Slice()
	if err != nil {
		return sum, fmt.Errorf("RESTORE.COMMIT: %w", err)
	}
	if len(r) == 3 {
		if n, ok := r[0].(int64); ok {
			sum.Entities = uint64(n)
		}
	}
	sum.Bytes = size
	sum.Took = time.Since(start)
	return sum, nil
}

// RunTransferCLI runs `segd backup FILE` or `segd restore FILE` (cmd is
// "backup" or "restore"; args follow it) and returns the exit code.
func RunTransferCLI(cmd string, args, env []string, stdout, stderr io.Writer) int {
	o := TransferOptions{Addr: DefaultConfig().Addr, Progress: stderr}
	cliutil.ServerEnv(env, &o.Addr, &o.Password)
	fs := flag.NewFlagSet("segd "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.Addr, "addr", o.Addr, "address of the segd server (also SEGD_ADDR)")
	fs.StringVar(&o.Password, "password", o.Password, "password of the server (also SEGD_PASSWORD)")
	fs.StringVar(&o.TLSCA, "tls-ca", "", "CA certificate (PEM) of a server that serves TLS")
	fs.BoolVar(&o.TLS, "tls", false, "connect with TLS, trusting the system's CAs")
	quiet := fs.Bool("quiet", false, "no progress bar")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: segd %s FILE [--addr host:port] [--password P] [--tls-ca F]\n", cmd)
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

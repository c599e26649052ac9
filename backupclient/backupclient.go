// Package backupclient is the client side of `segd backup FILE` and `segd
// restore FILE`: it downloads a consistent backup of a running server
// (BACKUP.BEGIN, BACKUP.READ, BACKUP.END) into a verified file, and uploads a
// backup file to replace a server's data set (RESTORE.BEGIN, RESTORE.WRITE,
// RESTORE.COMMIT). The file format is storage's (storage.ReadBackup).
package backupclient

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/redis/go-redis/v9"

	"github.com/segd-db/segd/cliutil"
	"github.com/segd-db/segd/progress"
	"github.com/segd-db/segd/storage"
)

// Options say how `segd backup` and `segd restore` reach a server.
type Options struct {
	Addr     string    // host:port
	Password string    // AUTH password, if the server has one
	TLSCA    string    // PEM file of the CA that signed the server's certificate; enables TLS
	TLS      bool      // TLS with the system's CAs
	Progress io.Writer // progress bar (nil: none)

	// OnBegin, if set, is called by Backup as soon as BACKUP.BEGIN has
	// answered, with the log seq the backup is consistent with.
	OnBegin func(seq uint64)
	// BeforeCommit, if set, is called by Restore once the file is uploaded,
	// right before RESTORE.COMMIT is sent.
	BeforeCommit func()
}

// maxChunk is the largest chunk asked for by BACKUP.READ or sent by
// RESTORE.WRITE (the server's own limit for BACKUP.READ).
const maxChunk = 4 << 20

// Summary describes a finished backup or restore.
type Summary struct {
	File     string
	Bytes    int64
	Seq      uint64    // log seq the backup is consistent with
	Created  time.Time // when the backup was taken
	Entities uint64
	Parts    int
	Took     time.Duration
}

func (o Options) client() (*redis.Client, error) {
	opt := &redis.Options{
		Addr: o.Addr, Password: o.Password, Protocol: 2, DisableIdentity: true,
		MaxRetries: -1, ReadTimeout: 5 * time.Minute, WriteTimeout: time.Minute, PoolSize: 1,
	}
	cfg, err := cliutil.TLSConfig(o.Addr, o.TLS, o.TLSCA)
	if err != nil {
		return nil, err
	}
	opt.TLSConfig = cfg
	return redis.NewClient(opt), nil
}

// Backup takes a backup of the server at o.Addr into path: the server
// snapshots consistently, the file is downloaded in chunks to a temporary
// file next to path, verified whole, synced and renamed into place.
func Backup(ctx context.Context, o Options, path string) (Summary, error) {
	start := time.Now()
	sum := Summary{File: path}
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
	if o.OnBegin != nil {
		o.OnBegin(uint64(seq))
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
		chunk, err := rc.Do(ctx, "BACKUP.READ", id, off, maxChunk).Text()
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

// backupEntities counts the entities of a backup's parts (the "live" part).
func backupEntities(parts []storage.Part) (uint64, bool) {
	for _, p := range parts {
		if p.Name == "live" {
			bm := roaring.New()
			if _, err := bm.FromUnsafeBytes(p.Data); err == nil {
				return bm.GetCardinality(), true
			}
		}
	}
	return 0, false
}

// syncDir makes a rename in dir durable where it can: some file systems
// cannot sync a directory, and the file itself is synced already.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

// Restore replaces the whole data set of the server at o.Addr with the
// backup in path. The file is verified locally first, then uploaded in
// chunks; the server verifies it again and swaps it in at once. A failure
// at any point changes nothing.
func Restore(ctx context.Context, o Options, path string) (Summary, error) {
	start := time.Now()
	sum := Summary{File: path}
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
	chunk = max(256, min(chunk, maxChunk))
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
	if o.BeforeCommit != nil {
		o.BeforeCommit()
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

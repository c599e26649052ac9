package server

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/segd-db/segd/index/errs"

	"github.com/segd-db/segd/index"
	"github.com/segd-db/segd/storage"
)

// Online backup and restore (`segd backup` / `segd restore`). A backup is
// a consistent snapshot encoded to a temporary file, which the client reads
// in chunks; a restore is a file uploaded in chunks to a temporary file,
// verified whole, then swapped in at once. See storage/backup.go for the
// file format.

const (
	maxTransfers    = 2                // open backups, and open restores, at once
	transferIdle    = 10 * time.Minute // an untouched transfer is dropped after this
	maxTransferRead = 4 << 20          // largest BACKUP.READ chunk
	transferDirName = "transfers"      // under the data directory
)

// transfer is one open backup or restore: a temporary file.
type transfer struct {
	mu      sync.Mutex
	id      string
	restore bool
	path    string
	f       *os.File
	size    int64 // the backup's size; for a restore, the size announced
	done    int64 // bytes received (restore)
	last    time.Time
	closed  bool
}

// transfers are the server's open transfers.
type transfers struct {
	mu   sync.Mutex
	open map[string]*transfer
}

// dir is where temporary transfer files go.
func (s *Server) transferDir() (string, error) {
	dir := os.TempDir()
	if !s.cfg.InMemory {
		dir = filepath.Join(s.cfg.Dir, transferDirName)
	}
	return dir, os.MkdirAll(dir, 0o700)
}

// cleanTransferDir removes what an earlier run left (on start-up).
func (s *Server) cleanTransferDir() {
	if s.cfg.InMemory {
		return
	}
	if err := os.RemoveAll(filepath.Join(s.cfg.Dir, transferDirName)); err != nil {
		s.log.Warn("removing leftover backup/restore files failed", "err", err)
	}
}

// add registers a new transfer, or refuses if too many are open.
func (s *Server) addTransfer(restore bool, size int64) (*transfer, error) {
	s.sweepTransfers()
	dir, err := s.transferDir()
	if err != nil {
		return nil, err
	}
	ts := &s.transfers
	ts.mu.Lock()
	defer ts.mu.Unlock()
	n := 0
	for _, t := range ts.open {
		if t.restore == restore {
			n++
		}
	}
	if n >= maxTransfers {
		kind := "backups"
		if restore {
			kind = "restores"
		}
		return nil, errs.Errf("too many %s in progress (at most %d); end one or wait %v for an abandoned one to expire", kind, maxTransfers, transferIdle)
	}
	var rnd [8]byte
	rand.Read(rnd[:])
	t := &transfer{id: hex.EncodeToString(rnd[:]), restore: restore, size: size, last: time.Now()}
	prefix := "backup-"
	if restore {
		prefix = "restore-"
	}
	t.f, err = os.CreateTemp(dir, prefix+t.id+"-*.segdbak")
	if err != nil {
		return nil, err
	}
	t.path = t.f.Name()
	if ts.open == nil {
		ts.open = map[string]*transfer{}
	}
	ts.open[t.id] = t
	return t, nil
}

// getTransfer finds an open transfer of the kind asked for and locks it.
func (s *Server) getTransfer(id []byte, restore bool) (*transfer, error) {
	s.sweepTransfers()
	ts := &s.transfers
	ts.mu.Lock()
	t := ts.open[string(id)]
	ts.mu.Unlock()
	if t == nil || t.restore != restore {
		return nil, errs.Err("no such transfer (unknown id, ended, or expired after " + transferIdle.String() + " idle)")
	}
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil, errs.Err("no such transfer (ended)")
	}
	t.last = time.Now()
	return t, nil
}

// endTransfer removes t (whose lock the caller holds) and its file.
func (s *Server) endTransfer(t *transfer) {
	t.closed = true
	t.f.Close()
	os.Remove(t.path)
	s.transfers.mu.Lock()
	delete(s.transfers.open, t.id)
	s.transfers.mu.Unlock()
}

// sweepTransfers drops transfers idle for too long (all of them when the
// server is closing).
func (s *Server) sweepTransfers() {
	ts := &s.transfers
	ts.mu.Lock()
	var stale []*transfer
	for _, t := range ts.open {
		stale = append(stale, t)
	}
	ts.mu.Unlock()
	for _, t := range stale {
		if !t.mu.TryLock() { // in use: not idle
			continue
		}
		if !t.closed && (s.closing.Load() || time.Since(t.last) > transferIdle) {
			s.log.Info("dropping an idle backup/restore transfer", "id", t.id, "restore", t.restore)
			s.endTransfer(t)
		}
		t.mu.Unlock()
	}
}

// BACKUP.BEGIN → [id, size, seq]
func cmdBackupBegin(s *Server, c *client, args [][]byte) error {
	t, err := s.addTransfer(false, 0)
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	seq, err := s.writeBackup(t.f)
	if err == nil {
		var st os.FileInfo
		if st, err = t.f.Stat(); err == nil {
			t.size = st.Size()
		}
	}
	if err != nil {
		s.endTransfer(t)
		if e := (*errs.Error)(nil); errors.As(err, &e) {
			return e
		}
		return errs.Err("backup failed: " + err.Error())
	}
	s.log.Info("backup taken", "id", t.id, "seq", seq, "bytes", t.size)
	c.enc.Array(3)
	c.enc.BulkString(t.id)
	c.enc.Int(t.size)
	c.enc.Int(int64(seq))
	return nil
}

// writeBackup snapshots the engine consistently with the log, as save does,
// and encodes it to f (synced). Once the log has failed it refuses: the
// engine then holds writes that were refused, which a backup would export.
func (s *Server) writeBackup(f *os.File) (uint64, error) {
	var parts []index.Part
	var seq uint64
	err := s.commits.exclusive(func() error {
		if why := s.commits.refusal(); why != nil {
			return backupRefused(why)
		}
		var err error
		parts, err = s.engine.Snapshot()
		seq = s.store.LastSeq()
		return err
	})
	if err != nil {
		return 0, err
	}
	sp := make([]storage.Part, len(parts))
	for i, p := range parts {
		sp[i] = storage.Part{Name: p.Name, Data: p.Data}
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if err := storage.WriteBackup(w, seq, time.Now(), sp); err != nil {
		return 0, err
	}
	if err := w.Flush(); err != nil {
		return 0, err
	}
	return seq, f.Sync()
}

// backupRefused is BACKUP.BEGIN's answer once the write log has failed.
func backupRefused(why error) *errs.Error {
	msg := why.Error()
	if e := (*errs.Error)(nil); errors.As(why, &e) {
		msg = e.Msg
	}
	return errs.Err("backup refused, it would hold writes that were not persisted: " + msg)
}

// BACKUP.READ id offset count → up to count bytes at offset ("" at the end)
func cmdBackupRead(s *Server, c *client, args [][]byte) error {
	off, err1 := strconv.ParseInt(string(args[2]), 10, 64)
	n, err2 := strconv.ParseInt(string(args[3]), 10, 64)
	if err1 != nil || err2 != nil || off < 0 || n < 0 {
		return errs.Err("offset and count must be non-negative integers")
	}
	t, err := s.getTransfer(args[1], false)
	if err != nil {
		return err
	}
	defer t.mu.Unlock()
	n = min(n, maxTransferRead, max(0, t.size-off))
	buf := make([]byte, n)
	if _, err := t.f.ReadAt(buf, off); err != nil {
		return errs.Err("reading the backup file failed: " + err.Error())
	}
	c.enc.Bulk(buf)
	return nil
}

// BACKUP.END id
func cmdBackupEnd(s *Server, c *client, args [][]byte) error {
	t, err := s.getTransfer(args[1], false)
	if err != nil {
		return err
	}
	defer t.mu.Unlock()
	s.endTransfer(t)
	c.enc.SimpleString("OK")
	return nil
}

// maxRestoreChunk is the largest RESTORE.WRITE data that fits a request.
func (s *Server) maxRestoreChunk() int64 {
	return max(256, min(maxTransferRead, int64(s.cfg.MaxRequest)-512))
}

// RESTORE.BEGIN size → [id, largest chunk]
func cmdRestoreBegin(s *Server, c *client, args [][]byte) error {
	size, err := strconv.ParseInt(string(args[1]), 10, 64)
	if err != nil || size < 0 {
		return errs.Err("size must be a non-negative integer")
	}
	t, err := s.addTransfer(true, size)
	if err != nil {
		return err
	}
	c.enc.Array(2)
	c.enc.BulkString(t.id)
	c.enc.Int(s.maxRestoreChunk())
	return nil
}

// RESTORE.WRITE id offset data → bytes received so far. Chunks come in
// order: offset must be the bytes received so far.
func cmdRestoreWrite(s *Server, c *client, args [][]byte) error {
	off, err := strconv.ParseInt(string(args[2]), 10, 64)
	if err != nil || off < 0 {
		return errs.Err("offset must be a non-negative integer")
	}
	t, err := s.getTransfer(args[1], true)
	if err != nil {
		return err
	}
	defer t.mu.Unlock()
	data := args[3]
	switch {
	case off != t.done:
		return errs.Err("out of order: expected offset " + strconv.FormatInt(t.done, 10))
	case off+int64(len(data)) > t.size:
		return errs.Err("more data than the size announced by RESTORE.BEGIN")
	}
	if _, err := t.f.WriteAt(data, off); err != nil {
		s.endTransfer(t)
		return errs.Err("writing the upload failed (restore aborted): " + err.Error())
	}
	t.done += int64(len(data))
	c.enc.Int(t.done)
	return nil
}

// RESTORE.ABORT id
func cmdRestoreAbort(s *Server, c *client, args [][]byte) error {
	t, err := s.getTransfer(args[1], true)
	if err != nil {
		return err
	}
	defer t.mu.Unlock()
	s.endTransfer(t)
	c.enc.SimpleString("OK")
	return nil
}

// RESTORE.COMMIT id → [entities, backup seq, backup creation unix time]
func cmdRestoreCommit(s *Server, c *client, args [][]byte) error {
	t, err := s.getTransfer(args[1], true)
	if err != nil {
		return err
	}
	defer t.mu.Unlock()
	defer s.endTransfer(t) // one attempt: a failed commit needs a new upload
	if t.done != t.size {
		return errs.Errf("upload incomplete: %d of %d bytes received", t.done, t.size)
	}
	if _, err := t.f.Seek(0, 0); err != nil {
		return errs.Err(err.Error())
	}
	seq, created, parts, err := storage.ReadBackup(bufio.NewReaderSize(t.f, 1<<20))
	if err != nil {
		return errs.Err("restore refused, nothing changed: " + err.Error())
	}
	entities, err := s.restore(parts)
	if err != nil {
		return errs.Err("restore failed: " + err.Error())
	}
	s.log.Info("restored a backup", "backup_seq", seq, "created", created, "entities", entities, "bytes", t.size)
	c.enc.Array(3)
	c.enc.Int(int64(entities))
	c.enc.Int(int64(seq))
	c.enc.Int(created.Unix())
	return nil
}

// restore replaces the whole data set with parts. It is checked first on a
// scratch engine, so that bad parts change nothing. Then, with writes
// paused, the engine takes the parts and they are stored as a snapshot at
// the log's current seq, which supersedes every record up to it: the swap
// of the snapshot's meta key is atomic, so a crash leaves either the old
// data set or the restored one, and writes after the restore are logged on
// top of it.
func (s *Server) restore(sp []storage.Part) (uint64, error) {
	parts := make([]index.Part, len(sp))
	for i, p := range sp {
		parts[i] = index.Part{Name: p.Name, Data: p.Data}
	}
	check := index.New()
	if err := check.LoadSnapshot(parts); err != nil {
		return 0, fmt.Errorf("the backup does not load, nothing changed: %w", err)
	}
	entities := check.Len()
	check = nil
	err := s.commits.exclusive(func() error {
		s.saving.Lock() // no background save of the old data set may land after this
		defer s.saving.Unlock()
		seq := s.store.LastSeq()
		if err := s.store.WriteSnapshot(seq, sp); err != nil {
			return fmt.Errorf("storing the restored data set failed, nothing changed: %w", err)
		}
		s.restores.Add(1)
		if err := s.engine.LoadSnapshot(parts); err != nil {
			// Checked above on the same bytes: cannot happen. The disk
			// holds the restored data; say so rather than serve a mix.
			s.loadErr.Store(loadFailed(err))
			s.loading.Store(true)
			return fmt.Errorf("loading the restored data set failed after it was stored; restart segd: %w", err)
		}
		s.dirty.Store(0)
		return nil
	})
	if err != nil {
		return 0, err
	}
	releaseMemory()
	return entities, nil
}

package server

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/segd-db/segd/backupclient"
	"github.com/segd-db/segd/importer"
	"github.com/segd-db/segd/index"
	"github.com/segd-db/segd/storage"
)

// writers write monotonically: writer w sets w<w>:<i> gen i for i = 0, 1,
// 2... one at a time (each acknowledged before the next is sent), so every
// consistent cut of the data set holds, per writer, a prefix of its keys.
type writers struct {
	n      int
	issued []atomic.Int64 // writes sent (the write i is counted before it is sent)
	acked  []atomic.Int64 // writes acknowledged
	stop   chan struct{}
	wg     sync.WaitGroup
	errs   atomic.Int64
	first  atomic.Value
}

func startWriters(t *testing.T, addr string, n int) *writers {
	ws := &writers{n: n, issued: make([]atomic.Int64, n), acked: make([]atomic.Int64, n), stop: make(chan struct{})}
	for w := range n {
		c := dial(t, addr, 2)
		ws.wg.Add(1)
		go func() {
			defer ws.wg.Done()
			ctx := context.Background()
			for i := 0; ; i++ {
				select {
				case <-ws.stop:
					return
				default:
				}
				ws.issued[w].Store(int64(i + 1))
				if err := c.Do(ctx, "ENT.SET", fmt.Sprintf("w%d:%d", w, i), "gen", i).Err(); err != nil {
					ws.errs.Add(1)
					ws.first.CompareAndSwap(nil, err.Error())
					return
				}
				ws.acked[w].Store(int64(i + 1))
			}
		}()
	}
	return ws
}

func (ws *writers) snapshot(of []atomic.Int64) []int64 {
	out := make([]int64, ws.n)
	for w := range out {
		out[w] = of[w].Load()
	}
	return out
}

func (ws *writers) halt(t *testing.T) []int64 {
	close(ws.stop)
	ws.wg.Wait()
	if ws.errs.Load() > 0 {
		t.Fatalf("%d writes failed, first: %v", ws.errs.Load(), ws.first.Load())
	}
	return ws.snapshot(ws.acked)
}

// present reports, for i < upto, whether w<w>:<i> exists.
func present(t *testing.T, c *redis.Client, w int, upto int64) []bool {
	t.Helper()
	ctx := context.Background()
	pipe := c.Pipeline()
	cmds := make([]*redis.Cmd, upto)
	for i := range upto {
		cmds[i] = pipe.Do(ctx, "ENT.EXISTS", fmt.Sprintf("w%d:%d", w, i))
	}
	if _, err := pipe.Exec(ctx); err != nil && upto > 0 {
		t.Fatal(err)
	}
	out := make([]bool, upto)
	for i, cmd := range cmds {
		n, err := cmd.Int64()
		if err != nil {
			t.Fatal(err)
		}
		out[i] = n == 1
	}
	return out
}

// runs returns the [start, end) ranges of true values.
func runs(p []bool) [][2]int64 {
	var out [][2]int64
	for i := 0; i < len(p); i++ {
		if p[i] {
			j := i
			for j < len(p) && p[j] {
				j++
			}
			out = append(out, [2]int64{int64(i), int64(j)})
			i = j
		}
	}
	return out
}

func snapshotBytes(t *testing.T, e *index.Engine) []index.Part {
	t.Helper()
	parts, err := e.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	return parts
}

func sameParts(t *testing.T, what string, got []index.Part, want []storage.Part) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d parts, want %d", what, len(got), len(want))
	}
	for i := range got {
		if got[i].Name != want[i].Name || !bytes.Equal(got[i].Data, want[i].Data) {
			t.Fatalf("%s: part %d (%s) differs from the backup's", what, i, got[i].Name)
		}
	}
}

func TestBackupRestoreUnderLoad(t *testing.T) {
	t.Parallel()
	const preload, nw = 3000, 4
	ctx := context.Background()
	dirA, dirB := t.TempDir(), t.TempDir()
	srvA := bootServer(t, dirA, nil)
	defer func() { srvA.Close() }()
	ca := dial(t, srvA.Addr(), 2)
	if err := ca.Do(ctx, "FIELD.CREATE", "gen", "INT").Err(); err != nil {
		t.Fatal(err)
	}
	pipe := ca.Pipeline()
	for i := range preload {
		pipe.Do(ctx, "ENT.SET", fmt.Sprintf("pre:%d", i), "gen", i)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	seq0 := srvA.store.LastSeq()

	// 1. Backup while writers run: the file must hold a consistent cut.
	ws := startWriters(t, srvA.Addr(), nw)
	time.Sleep(100 * time.Millisecond)
	ackedBefore := ws.snapshot(ws.acked)
	var issuedAtBegin []int64
	var beginSeq uint64
	file := filepath.Join(t.TempDir(), "a.segdbak")
	sum, err := backupclient.Backup(ctx, backupclient.Options{Addr: srvA.Addr(), OnBegin: func(seq uint64) {
		issuedAtBegin = ws.snapshot(ws.issued)
		beginSeq = seq
	}}, file)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Seq != beginSeq {
		t.Fatalf("summary seq %d, BEGIN said %d", sum.Seq, beginSeq)
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	bseq, _, bparts, err := storage.ReadBackup(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	offline := index.New()
	iparts := make([]index.Part, len(bparts))
	for i, p := range bparts {
		iparts[i] = index.Part{Name: p.Name, Data: bytes.Clone(p.Data)}
	}
	if err := offline.LoadSnapshot(iparts); err != nil {
		t.Fatal(err)
	}
	m := make([]int64, nw) // writes of each writer in the backup
	var inBackup int64
	for w := range nw {
		for offline.Exists(fmt.Sprintf("w%d:%d", w, m[w])) {
			m[w]++
		}
		// A prefix, nothing after it, everything acknowledged before BEGIN
		// was sent, nothing sent after BEGIN answered.
		for i := m[w]; i < issuedAtBegin[w]+50; i++ {
			if offline.Exists(fmt.Sprintf("w%d:%d", w, i)) {
				t.Fatalf("writer %d: key %d in the backup but %d missing: not a consistent cut", w, i, m[w])
			}
		}
		if m[w] < ackedBefore[w] || m[w] > issuedAtBegin[w] {
			t.Fatalf("writer %d: %d writes in the backup; acknowledged before BEGIN %d, sent by its reply %d", w, m[w], ackedBefore[w], issuedAtBegin[w])
		}
		inBackup += m[w]
	}
	// The backup's seq is exactly the log position of that cut.
	if bseq != seq0+uint64(inBackup) {
		t.Fatalf("backup seq %d, but it holds the log up to %d", bseq, seq0+uint64(inBackup))
	}
	if n := offline.Len(); n != uint64(preload+inBackup) || sum.Entities != n {
		t.Fatalf("backup holds %d entities (summary %d), want %d", n, sum.Entities, preload+inBackup)
	}
	t.Logf("backup: seq %d, %d bytes, %d writes of the writers in it (acked before %v, sent by BEGIN %v)",
		bseq, sum.Bytes, inBackup, ackedBefore, issuedAtBegin)

	// 2. Restore into a second server: exactly the backup, also after a restart.
	srvB := bootServer(t, dirB, nil)
	cb := dial(t, srvB.Addr(), 2)
	if err := cb.Do(ctx, "ENT.SET", "stale", "gen", 1).Err(); err != nil {
		t.Fatal(err)
	}
	rsum, err := backupclient.Restore(ctx, backupclient.Options{Addr: srvB.Addr()}, file)
	if err != nil {
		t.Fatal(err)
	}
	if rsum.Entities != uint64(preload+inBackup) || rsum.Seq != bseq {
		t.Fatalf("restore summary %+v", rsum)
	}
	sameParts(t, "restored server", snapshotBytes(t, srvB.Engine()), bparts)
	if n, _ := cb.Do(ctx, "ENT.EXISTS", "stale").Int64(); n != 0 {
		t.Fatal("data from before the restore survived it")
	}
	if v, _ := cb.Do(ctx, "ENT.GET", "pre:1234", "gen").Result(); !strings.Contains(fmt.Sprint(v), "1234") {
		t.Fatalf("ENT.GET pre:1234 after restore: %v", v)
	}
	// Corrupt uploads change nothing.
	raw, _ := os.ReadFile(file)
	bad := bytes.Clone(raw)
	bad[len(bad)/2] ^= 0x40
	badFile := filepath.Join(t.TempDir(), "bad.segdbak")
	if err := os.WriteFile(badFile, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := backupclient.Restore(ctx, backupclient.Options{Addr: srvB.Addr()}, badFile); err == nil || !strings.Contains(err.Error(), "not a valid segd backup") {
		t.Fatalf("corrupt file: %v", err)
	}
	for _, b := range [][]byte{bad, raw[:len(raw)-3], []byte("SEGDBAK1 but then nonsense")} {
		id := uploadRaw(t, cb, b)
		err := cb.Do(ctx, "RESTORE.COMMIT", id).Err()
		if err == nil || !strings.Contains(err.Error(), "nothing changed") {
			t.Fatalf("server accepted a corrupt upload: %v", err)
		}
	}
	sameParts(t, "after refused restores", snapshotBytes(t, srvB.Engine()), bparts)
	if err := srvB.Close(); err != nil {
		t.Fatal(err)
	}
	srvB = bootServer(t, dirB, nil)
	defer srvB.Close()
	sameParts(t, "restored server after a restart", snapshotBytes(t, srvB.Engine()), bparts)

	// 3. Restore into the first server while its writers go on: afterwards
	// each writer's keys are the backup's prefix plus one run of the writes
	// applied after the restore; none half-applied, none lost after it.
	time.Sleep(50 * time.Millisecond)
	var ackedBeforeCommit, issuedAfterCommit []int64
	if _, err := backupclient.Restore(ctx, backupclient.Options{Addr: srvA.Addr(), BeforeCommit: func() {
		ackedBeforeCommit = ws.snapshot(ws.acked)
	}}, file); err != nil {
		t.Fatal(err)
	}
	issuedAfterCommit = ws.snapshot(ws.issued)
	time.Sleep(100 * time.Millisecond)
	final := ws.halt(t)
	after := make([]int64, nw)
	check := func(what string, c *redis.Client) {
		var total int64 = preload
		for w := range nw {
			p := present(t, c, w, final[w]+50)
			r := runs(p)
			if len(r) == 0 || r[0][0] != 0 || r[0][1] != m[w] {
				t.Fatalf("%s: writer %d: keys %v, want the backup's [0,%d) first", what, w, r, m[w])
			}
			switch len(r) {
			case 1: // no write of w landed after the restore
				after[w] = final[w]
				if final[w] > issuedAfterCommit[w] {
					t.Fatalf("%s: writer %d: writes sent after the restore are missing: %v", what, w, r)
				}
			case 2:
				after[w] = r[1][0]
				if r[1][1] != final[w] || after[w] < ackedBeforeCommit[w] || after[w] > issuedAfterCommit[w] {
					t.Fatalf("%s: writer %d: keys %v; backup %d, acked before COMMIT %d, sent after it %d, final %d",
						what, w, r, m[w], ackedBeforeCommit[w], issuedAfterCommit[w], final[w])
				}
			default:
				t.Fatalf("%s: writer %d: keys %v: half-applied restore", what, w, r)
			}
			total += m[w] + final[w] - after[w]
		}
		if n, err := c.Do(ctx, "ENT.COUNT").Int64(); err != nil || n != total {
			t.Fatalf("%s: ENT.COUNT %d (%v), want %d", what, n, err, total)
		}
		for w := range nw {
			if final[w] > after[w] {
				i := final[w] - 1
				v, _ := c.Do(ctx, "ENT.GET", fmt.Sprintf("w%d:%d", w, i), "gen").Result()
				if !strings.Contains(fmt.Sprint(v), fmt.Sprint(i)) {
					t.Fatalf("%s: ENT.GET w%d:%d: %v", what, w, i, v)
				}
			}
		}
	}
	check("after the online restore", ca)
	t.Logf("online restore: writes acked before COMMIT %v, first write after it %v, final %v", ackedBeforeCommit, after, final)
	// The restored snapshot plus the writes logged after it survive a restart.
	if err := srvA.Close(); err != nil {
		t.Fatal(err)
	}
	srvA = bootServer(t, dirA, nil)
	check("after the online restore and a restart", dial(t, srvA.Addr(), 2))
}

// uploadRaw uploads b with RESTORE.BEGIN/WRITE and returns the id.
func uploadRaw(t *testing.T, c *redis.Client, b []byte) string {
	t.Helper()
	ctx := context.Background()
	v, err := c.Do(ctx, "RESTORE.BEGIN", len(b)).Slice()
	if err != nil {
		t.Fatal(err)
	}
	id := v[0].(string)
	for off := 0; off < len(b); off += 7 {
		end := min(off+7, len(b))
		if err := c.Do(ctx, "RESTORE.WRITE", id, off, b[off:end]).Err(); err != nil {
			t.Fatal(err)
		}
	}
	return id
}

func TestBackupCommandErrors(t *testing.T) {
	t.Parallel()
	srv := startServer(t, func(c *Config) { c.InMemory = true })
	c := newClient(t, srv, 2)
	ctx := context.Background()
	do(t, c, "ENT.SET", "k", "tier", "gold")
	for _, args := range [][]any{
		{"BACKUP.READ", "nope", 0, 10},
		{"BACKUP.END", "nope"},
		{"RESTORE.WRITE", "nope", 0, "x"},
		{"RESTORE.COMMIT", "nope"},
	} {
		if e := doErr(t, c, args...); !strings.Contains(e, "no such transfer") {
			t.Errorf("%v: %s", args, e)
		}
	}
	// At most two backups at once.
	var ids []string
	for range 2 {
		v := doArr(t, c, "BACKUP.BEGIN")
		ids = append(ids, v[0].(string))
	}
	if e := doErr(t, c, "BACKUP.BEGIN"); !strings.Contains(e, "too many backups") {
		t.Errorf("third backup: %s", e)
	}
	if e := doErr(t, c, "BACKUP.READ", ids[0], -1, 10); !strings.Contains(e, "non-negative") {
		t.Errorf("negative offset: %s", e)
	}
	// A restore id is not a backup id and vice versa.
	if e := doErr(t, c, "RESTORE.COMMIT", ids[0]); !strings.Contains(e, "no such transfer") {
		t.Errorf("backup id as restore id: %s", e)
	}
	// Reading past the end gives an empty string.
	if s := doStr(t, c, "BACKUP.READ", ids[0], 1<<40, 10); s != "" {
		t.Errorf("read past the end: %q", s)
	}
	for _, id := range ids {
		do(t, c, "BACKUP.END", id)
	}
	if e := doErr(t, c, "BACKUP.END", ids[0]); !strings.Contains(e, "no such transfer") {
		t.Errorf("ended twice: %s", e)
	}
	// Restore protocol: order, size, completeness.
	v := doArr(t, c, "RESTORE.BEGIN", 10)
	id := v[0].(string)
	if e := doErr(t, c, "RESTORE.WRITE", id, 3, "abc"); !strings.Contains(e, "expected offset 0") {
		t.Errorf("out of order: %s", e)
	}
	if e := doErr(t, c, "RESTORE.WRITE", id, 0, "0123456789x"); !strings.Contains(e, "more data") {
		t.Errorf("oversize: %s", e)
	}
	if n := doInt(t, c, "RESTORE.WRITE", id, 0, "01234"); n != 5 {
		t.Errorf("written %d", n)
	}
	if e := doErr(t, c, "RESTORE.COMMIT", id); !strings.Contains(e, "incomplete") {
		t.Errorf("incomplete commit: %s", e)
	}
	if e := doErr(t, c, "RESTORE.ABORT", id); !strings.Contains(e, "no such transfer") {
		t.Errorf("a failed commit must end the upload: %s", e)
	}
	if n := doInt(t, c, "ENT.COUNT"); n != 1 {
		t.Errorf("ENT.COUNT %d after failed restores", n)
	}
	_ = ctx
}

func TestBackupCLI(t *testing.T) {
	t.Parallel()
	srv := startServer(t, func(c *Config) { c.Password = "s3cret" })
	c := newClientOpts(t, srv, &redis.Options{Password: "s3cret"})
	do(t, c, "ENT.SET", "k1", "tier", "gold")
	do(t, c, "ENT.SET", "k2", "tier", "silver")
	file := filepath.Join(t.TempDir(), "x.segdbak")
	var out, errb bytes.Buffer
	env := []string{"SEGD_PASSWORD=s3cret"}
	if code := backupclient.RunCLI("backup", []string{file, "--addr", srv.Addr()}, env, nil, &out, &errb); code != 0 {
		t.Fatalf("backup exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "2 entities") || !strings.Contains(errb.String(), "100%") {
		t.Fatalf("backup output %q, progress %q", out.String(), errb.String())
	}
	// A restore into a server that holds data asks for --force (nothing
	// is a terminal here) and names what it would replace.
	errb.Reset()
	if code := backupclient.RunCLI("restore", []string{"--quiet", file}, append(env, "SEGD_ADDR="+srv.Addr()), nil, &out, &errb); code != 2 ||
		!strings.Contains(errb.String(), "holds 2 entities, 1 fields and 0 saved segments") || !strings.Contains(errb.String(), "--force") {
		t.Fatalf("restore into a server with data: exit %d, %q", code, errb.String())
	}
	do(t, c, "ENT.SET", "k3", "tier", "bronze")
	out.Reset()
	if code := backupclient.RunCLI("restore", []string{"--quiet", "--force", file}, append(env, "SEGD_ADDR="+srv.Addr()), nil, &out, &errb); code != 0 {
		t.Fatalf("restore exit %d: %s", code, errb.String())
	}
	if n := doInt(t, c, "ENT.COUNT"); n != 2 || !strings.Contains(out.String(), "2 entities") {
		t.Fatalf("after restore: %d entities, output %q", n, out.String())
	}
	errb.Reset()
	if code := backupclient.RunCLI("backup", []string{file, "--addr", srv.Addr()}, nil, nil, &out, &errb); code != 2 || !strings.Contains(errb.String(), "needs a password") {
		t.Fatalf("backup without password: exit %d, %q", code, errb.String())
	}
	if code := backupclient.RunCLI("restore", nil, nil, nil, &out, &errb); code != 2 {
		t.Fatalf("restore without FILE: exit %d", code)
	}
	if ents, _ := os.ReadDir(filepath.Dir(file)); len(ents) != 1 {
		t.Fatalf("temporary files left next to the backup: %v", ents)
	}
}

// The command-line clients look for the server where it listens by default.
func TestClientDefaultAddr(t *testing.T) {
	a := DefaultConfig().Addr
	for tool, addr := range map[string]string{"segd backup": backupclient.DefaultAddr, "segd import": importer.DefaultAddr} {
		if addr != a {
			t.Errorf("server listens on %s by default, %s looks at %s", a, tool, addr)
		}
	}
}

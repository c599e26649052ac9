package server

// Node.js clients against a real server: compat/node holds node --test suites
// for node-redis and ioredis (RESP2 and RESP3, commands and pub/sub: PUBLISH,
// and the JSON enter/exit notifications of a saved segment on segment:vip and
// segment:*). This test starts the server and runs them with SEGD_ADDR set; it
// skips when node is not installed or `npm ci` has not been run in
// compat/node (.ci/run does).

import (
	"context"
	"github.com/segd-db/segd/internal/testenv"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

func TestNodeCompat(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		testenv.Skip(t, "node is not installed (apt-get install nodejs npm; .ci/run does)")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "compat", "node", "node_modules")); err != nil {
		testenv.Skip(t, "compat/node/node_modules is missing: run (cd compat/node && npm ci); make test does when npm is there")
	}
	srv := startServer(t, nil)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "compat/node/")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "SEGD_ADDR="+srv.Addr(), "NODE_OPTIONS=", "NO_COLOR=1")
	out, err := cmd.CombinedOutput()
	if err != nil || testing.Verbose() {
		t.Logf("node --test compat/node/ (SEGD_ADDR=%s):\n%s", srv.Addr(), out)
	}
	if err != nil {
		t.Fatalf("node --test compat/node/: %v", err)
	}
}

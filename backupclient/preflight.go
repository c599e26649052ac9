package backupclient

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/segd-db/segd/cliutil"
)

// errDeclined is a restore the person at the terminal did not confirm.
var errDeclined = errors.New("restore cancelled: nothing changed")

// holdings is what a server holds that a restore would replace.
type holdings struct{ entities, fields, segments int64 }

func (h holdings) empty() bool { return h.entities == 0 && h.fields == 0 && h.segments == 0 }

func (h holdings) String() string {
	return fmt.Sprintf("%d entities, %d fields and %d saved segments", h.entities, h.fields, h.segments)
}

// preflight connects before any file is read or written: a wrong address
// or password is one clear line. For a restore it also reads what the
// server holds.
func preflight(ctx context.Context, o Options) (holdings, error) {
	rc, err := o.client()
	if err != nil {
		return holdings{}, err
	}
	defer rc.Close()
	var h holdings
	if h.entities, err = rc.Do(ctx, "ENT.COUNT").Int64(); err != nil {
		var re redis.Error
		if errors.As(err, &re) {
			return h, cliutil.Refusal(o.Addr, o.Password, re.Error())
		}
		return h, fmt.Errorf("cannot reach %s: %w", o.Addr, err)
	}
	fields, err := rc.Do(ctx, "FIELD.LIST").Slice()
	if err != nil {
		return h, err
	}
	segs, err := rc.Do(ctx, "SEGMENT.LIST").Slice()
	if err != nil {
		return h, err
	}
	h.fields, h.segments = int64(len(fields)), int64(len(segs))
	return h, nil
}

// confirmRestore asks before a restore replaces data: with --force it goes
// on; on a terminal it asks; otherwise it refuses, naming what would be
// replaced.
func confirmRestore(o Options, h holdings, force bool, stdin io.Reader, stderr io.Writer) error {
	if h.empty() || force {
		return nil
	}
	if f, ok := stdin.(*os.File); ok && isTerminal(f) {
		fmt.Fprintf(stderr, "%s holds %s; the restore replaces all of it. Type yes to go on: ", o.Addr, h)
		line, _ := bufio.NewReader(stdin).ReadString('\n')
		if strings.TrimSpace(line) == "yes" {
			return nil
		}
		return errDeclined
	}
	return fmt.Errorf("%s holds %s, which the restore would replace: give --force to replace them", o.Addr, h)
}

// isTerminal tells whether f is a character device (a terminal).
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

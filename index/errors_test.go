package index

import (
	"testing"

	"github.com/segd-db/segd/index/expr"
)

func TestSyntaxErrorText(t *testing.T) {
	_, err := expr.Parse(`country:`)
	if err == nil || err.Error() != `ERR syntax error at 9: expected a value after ':'` {
		t.Fatalf("got %v", err)
	}
	code, msg := ErrorCode(err)
	if code != "ERR" || msg != `syntax error at 9: expected a value after ':'` {
		t.Fatalf("ErrorCode: %q %q", code, msg)
	}
}

package storage

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/klauspost/compress/zstd"
)

// Backup file format (`segd backup`), version 1:
//
//	"SEGDBAK1"                      8 bytes, in clear (identifies the file)
//	zstd stream (frames carry their own CRC) of:
//	  header   version u32 | created unix nanos i64 | seq u64 | parts u32
//	  parts    name len u16 | name | raw len u64 | data | xxhash64(data) u64
//	  trailer  "SEGDEND1" | xxhash64 of every byte above (magic included)
//	end of the zstd stream, then end of file
//
// Integers are big-endian. seq is the log sequence number the parts are
// consistent with. ReadBackup rejects a wrong magic, an unknown version,
// truncation (anywhere), damage (zstd CRC, part hash, trailer hash) and
// trailing bytes, each with an error matching ErrBadBackup. It never
// allocates much more than the bytes it has actually read.

// ErrBadBackup matches every error ReadBackup returns for a file that is not
// a complete, intact segd backup.
var ErrBadBackup = errors.New("not a valid segd backup")

const (
	backupMagic   = "SEGDBAK1"
	backupTrailer = "SEGDEND1"
	backupVersion = 1

	maxBackupParts   = 1 << 22 // far more than fields a server can have
	maxBackupName    = 1 << 12
	maxBackupPartLen = 1 << 40
	backupReadStep   = 64 << 20 // part data is read in steps of at most this
)

// WriteBackup writes parts as a backup consistent with log seq. parts are
// only read.
func WriteBackup(w io.Writer, seq uint64, created time.Time, parts []Part) error {
	if len(parts) > maxBackupParts {
		return fmt.Errorf("storage: backup: too many parts (%d)", len(parts))
	}
	if _, err := io.WriteString(w, backupMagic); err != nil {
		return err
	}
	zw, err := zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderCRC(true))
	if err != nil {
		return err
	}
	defer zw.Close()
	sum := xxhash.New()
	sum.WriteString(backupMagic)
	out := io.MultiWriter(zw, sum)
	var buf []byte
	buf = binary.BigEndian.AppendUint32(buf, backupVersion)
	buf = binary.BigEndian.AppendUint64(buf, uint64(created.UnixNano()))
	buf = binary.BigEndian.AppendUint64(buf, seq)
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(parts)))
	if _, err := out.Write(buf); err != nil {
		return err
	}
	for _, p := range parts {
		if len(p.Name) > maxBackupName {
			return fmt.Errorf("storage: backup: part name too long (%d bytes)", len(p.Name))
		}
		buf = binary.BigEndian.AppendUint16(buf[:0], uint16(len(p.Name)))
		buf = append(buf, p.Name...)
		buf = binary.BigEndian.AppendUint64(buf, uint64(len(p.Data)))
		if _, err := out.Write(buf); err != nil {
			return err
		}
		if _, err := out.Write(p.Data); err != nil {
			return err
		}
		buf = binary.BigEndian.AppendUint64(buf[:0], xxhash.Sum64(p.Data))
		if _, err := out.Write(buf); err != nil {
			return err
		}
	}
	buf = append(buf[:0], backupTrailer...)
	sum.WriteString(backupTrailer)
	buf = binary.BigEndian.AppendUint64(buf, sum.Sum64())
	if _, err := zw.Write(buf); err != nil {
		return err
	}
	return zw.Close()
}

// backupReader reads the decompressed stream, hashing what it reads.
type backupReader struct {
	r   io.Reader
	sum hash.Hash64
	b   [16]byte
}

func (br *backupReader) full(p []byte, what string) error {
	if _, err := io.ReadFull(br.r, p); err != nil {
		return badBackup(what, err)
	}
	br.sum.Write(p)
	return nil
}

func (br *backupReader) u16(what string) (uint16, error) {
	err := br.full(br.b[:2], what)
	return binary.BigEndian.Uint16(br.b[:2]), err
}

func (br *backupReader) u32(what string) (uint32, error) {
	err := br.full(br.b[:4], what)
	return binary.BigEndian.Uint32(br.b[:4]), err
}

func (br *backupReader) u64(what string) (uint64, error) {
	err := br.full(br.b[:8], what)
	return binary.BigEndian.Uint64(br.b[:8]), err
}

// data reads n bytes in steps, so that a lying length in a damaged or short
// file costs no more memory than the bytes really there.
func (br *backupReader) data(n uint64, what string) ([]byte, error) {
	if n <= backupReadStep {
		p := make([]byte, n)
		return p, br.full(p, what)
	}
	var p []byte
	for uint64(len(p)) < n {
		step := min(n-uint64(len(p)), backupReadStep)
		if cap(p)-len(p) < int(step) {
			np := make([]byte, len(p), min(n, uint64(2*cap(p))+step))
			copy(np, p)
			p = np
		}
		if err := br.full(p[len(p):len(p)+int(step)], what); err != nil {
			return nil, err
		}
		p = p[:len(p)+int(step)]
	}
	return p, nil
}

func badBackup(what string, err error) error {
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: truncated (file ends in the %s)", ErrBadBackup, what)
	case errors.Is(err, zstd.ErrCRCMismatch), errors.Is(err, zstd.ErrMagicMismatch):
		return fmt.Errorf("%w: corrupt compressed data in the %s (%v)", ErrBadBackup, what, err)
	default:
		return fmt.Errorf("%w: cannot read the %s: %v", ErrBadBackup, what, err)
	}
}

// ReadBackup reads and verifies a whole backup: it returns only if every
// check passed. The parts' data are fresh buffers the caller owns.
func ReadBackup(r io.Reader) (seq uint64, created time.Time, parts []Part, err error) {
	defer func() {
		if v := recover(); v != nil { // never expected; damage must not crash a server
			seq, created, parts = 0, time.Time{}, nil
			err = fmt.Errorf("%w: %v", ErrBadBackup, v)
		}
	}()
	raw := bufio.NewReaderSize(r, 1<<16)
	magic := make([]byte, len(backupMagic))
	if _, err := io.ReadFull(raw, magic); err != nil || string(magic) != backupMagic {
		return 0, time.Time{}, nil, fmt.Errorf("%w: wrong magic (not a segd backup file)", ErrBadBackup)
	}
	zr, err := zstd.NewReader(raw, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(64<<20), zstd.WithDecoderLowmem(true))
	if err != nil {
		return 0, time.Time{}, nil, err
	}
	defer zr.Close()
	br := &backupReader{r: zr, sum: xxhash.New()}
	br.sum.Write(magic)
	version, err := br.u32("header")
	if err != nil {
		return 0, time.Time{}, nil, err
	}
	if version != backupVersion {
		return 0, time.Time{}, nil, fmt.Errorf("%w: unknown format version %d (this segd reads version %d)", ErrBadBackup, version, backupVersion)
	}
	nanos, err := br.u64("header")
	if err != nil {
		return 0, time.Time{}, nil, err
	}
	if seq, err = br.u64("header"); err != nil {
		return 0, time.Time{}, nil, err
	}
	count, err := br.u32("header")
	if err != nil {
		return 0, time.Time{}, nil, err
	}
	if count > maxBackupParts {
		return 0, time.Time{}, nil, fmt.Errorf("%w: corrupt header (%d parts)", ErrBadBackup, count)
	}
	parts = make([]Part, 0, min(count, 4096))
	for i := range count {
		what := fmt.Sprintf("part %d of %d", i+1, count)
		nl, err := br.u16(what)
		if err != nil {
			return 0, time.Time{}, nil, err
		}
		if nl > maxBackupName {
			return 0, time.Time{}, nil, fmt.Errorf("%w: corrupt %s (name of %d bytes)", ErrBadBackup, what, nl)
		}
		name := make([]byte, nl)
		if err := br.full(name, what); err != nil {
			return 0, time.Time{}, nil, err
		}
		what = fmt.Sprintf("part %q (%d of %d)", clipName(name), i+1, count)
		n, err := br.u64(what)
		if err != nil {
			return 0, time.Time{}, nil, err
		}
		if n > maxBackupPartLen {
			return 0, time.Time{}, nil, fmt.Errorf("%w: corrupt %s (length %d)", ErrBadBackup, what, n)
		}
		data, err := br.data(n, what)
		if err != nil {
			return 0, time.Time{}, nil, err
		}
		want, err := br.u64(what)
		if err != nil {
			return 0, time.Time{}, nil, err
		}
		if got := xxhash.Sum64(data); got != want {
			return 0, time.Time{}, nil, fmt.Errorf("%w: checksum mismatch in %s", ErrBadBackup, what)
		}
		parts = append(parts, Part{Name: string(name), Data: data})
	}
	var tr [len(backupTrailer) + 8]byte
	if _, err := io.ReadFull(zr, tr[:]); err != nil {
		return 0, time.Time{}, nil, badBackup("trailer", err)
	}
	br.sum.Write(tr[:len(backupTrailer)])
	if string(tr[:len(backupTrailer)]) != backupTrailer {
		return 0, time.Time{}, nil, fmt.Errorf("%w: corrupt trailer", ErrBadBackup)
	}
	if binary.BigEndian.Uint64(tr[len(backupTrailer):]) != br.sum.Sum64() {
		return 0, time.Time{}, nil, fmt.Errorf("%w: whole-file checksum mismatch", ErrBadBackup)
	}
	// The stream must end here, and the file with it.
	var one [1]byte
	if n, err := zr.Read(one[:]); n > 0 || (err != nil && !errors.Is(err, io.EOF)) {
		if err != nil && n == 0 {
			return 0, time.Time{}, nil, badBackup("end of the compressed stream", err)
		}
		return 0, time.Time{}, nil, fmt.Errorf("%w: unexpected data after the trailer", ErrBadBackup)
	}
	if n, _ := raw.Read(one[:]); n > 0 {
		return 0, time.Time{}, nil, fmt.Errorf("%w: unexpected bytes after the end of the backup", ErrBadBackup)
	}
	return seq, time.Unix(0, int64(nanos)), parts, nil
}

func clipName(b []byte) string {
	s := []rune(string(b))
	if len(s) > 64 {
		s = append(s[:64], '…')
	}
	return string(s)
}

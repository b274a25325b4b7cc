package secret

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// CheckFile makes sure path is a regular file that only its owner can
// access, so that a secret is not exposed to other local users.
func CheckFile(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return errors.New(path + ": " + DescribeFileError(err))
	}
	if !st.Mode().IsRegular() {
		return errors.New(path + ": not a regular file")
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("%s is readable or writable by group or others (mode %04o); run chmod 600 %s", path, perm, path)
	}
	return CheckReadable(path)
}

// ReadFile reads a secret file after CheckFile, trimming one trailing
// newline.
func ReadFile(path string) (String, error) {
	if err := CheckFile(path); err != nil {
		return "", err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return String(strings.TrimRight(string(b), "\r\n")), nil
}

// CheckReadable reports whether path can be opened for reading, in words
// an operator can act on.
func CheckReadable(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return errors.New(path + ": " + DescribeFileError(err))
	}
	return f.Close()
}

// DescribeFileError says what went wrong with a file without repeating its
// path ("file does not exist", "permission denied", ...).
func DescribeFileError(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "file does not exist"
	case errors.Is(err, fs.ErrPermission):
		return "permission denied"
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

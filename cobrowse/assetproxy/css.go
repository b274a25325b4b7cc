package assetproxy

import (
	"bytes"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// RewriteCSS returns css with every url(...) and @import string resolved
// against base and pointed at the proxy (prefix + EncodeURL(absolute)).
// data: URLs stay as they are; any other scheme becomes about:invalid, so
// no URL in a stylesheet served by the proxy leads anywhere but the proxy.
func RewriteCSS(css []byte, base *url.URL, prefix string) []byte {
	var out bytes.Buffer
	out.Grow(len(css) + len(css)/8)
	importPending := false
	for i := 0; i < len(css); {
		c := css[i]
		switch {
		case c == '/' && i+1 < len(css) && css[i+1] == '*':
			end := bytes.Index(css[i+2:], []byte("*/"))
			if end < 0 {
				out.Write(css[i:])
				return out.Bytes()
			}
			out.Write(css[i : i+2+end+2])
			i += 2 + end + 2
		case c == '"' || c == '\'':
			s, n := readString(css[i:])
			if importPending {
				out.WriteString(strconv.Quote(proxyURL(s, base, prefix)))
				importPending = false
			} else {
				out.Write(css[i : i+n])
			}
			i += n
		case c == '@' && hasPrefixFold(css[i:], "@import") && !isIdent(at(css, i+7)):
			importPending = true
			out.WriteString("@import")
			i += 7
		case (c == 'u' || c == 'U') && hasPrefixFold(css[i:], "url(") && !isIdent(at(css, i-1)):
			v, n, ok := readURL(css[i+4:])
			if !ok {
				out.Write(css[i:])
				return out.Bytes()
			}
			out.WriteString(`url(`)
			out.WriteString(strconv.Quote(proxyURL(v, base, prefix)))
			out.WriteString(`)`)
			importPending = false
			i += 4 + n
		case c == ';' || c == '{':
			importPending = false
			out.WriteByte(c)
			i++
		default:
			out.WriteByte(c)
			i++
		}
	}
	return out.Bytes()
}

func at(b []byte, i int) byte {
	if i < 0 || i >= len(b) {
		return 0
	}
	return b[i]
}

func isIdent(c byte) bool {
	return c == '-' || c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}

func hasPrefixFold(b []byte, p string) bool {
	return len(b) >= len(p) && strings.EqualFold(string(b[:len(p)]), p)
}

// readString reads a quoted CSS string at the start of b; it returns the
// unescaped value and the bytes consumed.
func readString(b []byte) (string, int) {
	q := b[0]
	var sb strings.Builder
	i := 1
	for i < len(b) {
		c := b[i]
		switch {
		case c == q:
			return sb.String(), i + 1
		case c == '\n':
			return sb.String(), i // unterminated: CSS ends the string here
		case c == '\\':
			r, n := readEscape(b[i+1:])
			sb.WriteString(r)
			i += 1 + n
		default:
			sb.WriteByte(c)
			i++
		}
	}
	return sb.String(), i
}

// readEscape decodes a CSS escape after its backslash.
func readEscape(b []byte) (string, int) {
	if len(b) == 0 {
		return "", 0
	}
	n := 0
	for n < len(b) && n < 6 && isHex(b[n]) {
		n++
	}
	if n == 0 {
		if b[0] == '\n' {
			return "", 1 // line continuation
		}
		_, size := utf8.DecodeRune(b)
		return string(b[:size]), size
	}
	v, _ := strconv.ParseUint(string(b[:n]), 16, 32)
	if n < len(b) && (b[n] == ' ' || b[n] == '\t' || b[n] == '\n') {
		n++
	}
	if v == 0 || v > utf8.MaxRune {
		return "\uFFFD", n
	}
	return string(rune(v)), n
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// readURL reads what follows "url(": optional blanks, a quoted or unquoted
// URL, optional blanks and ")". ok is false when it is not well formed.
func readURL(b []byte) (string, int, bool) {
	i := 0
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	var v string
	if i < len(b) && (b[i] == '"' || b[i] == '\'') {
		s, n := readString(b[i:])
		v = s
		i += n
	} else {
		var sb strings.Builder
		for i < len(b) && b[i] != ')' && !isSpace(b[i]) {
			if b[i] == '\\' {
				r, n := readEscape(b[i+1:])
				sb.WriteString(r)
				i += 1 + n
				continue
			}
			sb.WriteByte(b[i])
			i++
		}
		v = sb.String()
	}
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	if i >= len(b) || b[i] != ')' {
		return "", 0, false
	}
	return v, i + 1, true
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }

// proxyURL maps one URL found in a stylesheet.
func proxyURL(v string, base *url.URL, prefix string) string {
	v = strings.TrimSpace(v)
	if v == "" {
		return ""
	}
	if len(v) >= 5 && strings.EqualFold(v[:5], "data:") {
		return v
	}
	if strings.HasPrefix(v, "#") {
		return v // a fragment (SVG filter references)
	}
	u, err := base.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return "about:invalid"
	}
	return prefix + EncodeURL(u.String())
}

package main

// A small CSV reader that keeps what encoding/csv loses: whether a field was
// quoted. An unquoted empty field is a missing value; a quoted empty field
// ("") is the empty string.

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
)

type csvReader struct {
	r     *bufio.Reader
	line  int // physical lines read so far
	first bool
	// the record being read
	fields []string
	quoted []bool
	buf    []byte
}

func newCSVReader(r io.Reader) *csvReader {
	return &csvReader{r: bufio.NewReaderSize(r, 1<<20), first: true}
}

// readLine returns the next physical line without its terminator, and
// whether the file ended before it started.
func (c *csvReader) readLine() (string, bool, error) {
	c.buf = c.buf[:0]
	for {
		chunk, err := c.r.ReadSlice('\n')
		c.buf = append(c.buf, chunk...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF {
			if len(c.buf) == 0 {
				return "", true, nil
			}
			break
		}
		if err != nil {
			return "", false, err
		}
		break
	}
	c.line++
	b := c.buf
	if c.first {
		c.first = false
		b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	}
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	return string(b), false, nil
}

// Read returns the next record (fields, quoted flags, first line number), or io.EOF.
// The slices are reused by the next call.
func (c *csvReader) Read() ([]string, []bool, int, error) {
	line, eof, err := c.readLine()
	if err != nil {
		return nil, nil, c.line, err
	}
	if eof {
		return nil, nil, c.line, io.EOF
	}
	start := c.line
	c.fields, c.quoted = c.fields[:0], c.quoted[:0]
	if strings.IndexByte(line, '"') < 0 {
		for {
			i := strings.IndexByte(line, ',')
			if i < 0 {
				c.fields = append(c.fields, line)
				c.quoted = append(c.quoted, false)
				return c.fields, c.quoted, start, nil
			}
			c.fields = append(c.fields, line[:i])
			c.quoted = append(c.quoted, false)
			line = line[i+1:]
		}
	}
	// general case: quoted fields, possibly spanning lines
	pos := 0
	for {
		if pos < len(line) && line[pos] == '"' {
			var sb strings.Builder
			pos++
			for {
				i := strings.IndexByte(line[pos:], '"')
				if i < 0 {
					sb.WriteString(line[pos:])
					next, eof, err := c.readLine()
					if err != nil {
						return nil, nil, start, err
					}
					if eof {
						return nil, nil, start, fmt.Errorf("line %d: a quoted field is never closed", start)
					}
					sb.WriteByte('\n')
					line, pos = next, 0
					continue
				}
				sb.WriteString(line[pos : pos+i])
				pos += i + 1
				if pos < len(line) && line[pos] == '"' { // "" inside quotes
					sb.WriteByte('"')
					pos++
					continue
				}
				break
			}
			c.fields = append(c.fields, sb.String())
			c.quoted = append(c.quoted, true)
			if pos == len(line) {
				return c.fields, c.quoted, start, nil
			}
			if line[pos] != ',' {
				return nil, nil, start, fmt.Errorf("line %d: unexpected %q after a closing quote", c.line, line[pos])
			}
			pos++
			if pos == len(line) { // trailing comma: one more empty field
				c.fields = append(c.fields, "")
				c.quoted = append(c.quoted, false)
				return c.fields, c.quoted, start, nil
			}
			continue
		}
		i := strings.IndexByte(line[pos:], ',')
		if i < 0 {
			c.fields = append(c.fields, line[pos:])
			c.quoted = append(c.quoted, false)
			return c.fields, c.quoted, start, nil
		}
		c.fields = append(c.fields, line[pos:pos+i])
		c.quoted = append(c.quoted, false)
		pos += i + 1
		if pos == len(line) {
			c.fields = append(c.fields, "")
			c.quoted = append(c.quoted, false)
			return c.fields, c.quoted, start, nil
		}
	}
}

// appendField appends s to dst, quoted when it must be.
func appendField(dst []byte, s string) []byte {
	if s == "" || !strings.ContainsAny(s, ",\"\r\n") && s[0] != ' ' && s[len(s)-1] != ' ' {
		return append(dst, s...)
	}
	dst = append(dst, '"')
	dst = append(dst, strings.ReplaceAll(s, `"`, `""`)...)
	return append(dst, '"')
}

package scorer

// Typed readers over the parsed document. Each mirrors a helper of the Python
// reference scorer (mlexport/jsonfmt/score.py) and fails with a message that
// names where in the document the problem is.

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// DocumentError is a document this scorer refuses: not JSON, not an mlexport
// document, a version or node type it does not implement, a wrong field, an
// inconsistent shape or a malformed tree.
type DocumentError struct {
	Where string // e.g. "model(tree_ensemble).trees[3]"; empty for the whole document
	Msg   string
}

func (e *DocumentError) Error() string {
	if e.Where == "" {
		return "JSON document: " + e.Msg
	}
	return "JSON document: " + e.Where + ": " + e.Msg
}

// InputError is input data the model cannot score (a missing column, a string
// reaching a numeric step, a category unknown to an encoder fitted with
// handle_unknown='error', ...).
type InputError struct {
	Msg string
}

func (e *InputError) Error() string { return e.Msg }

func fail(where, format string, args ...interface{}) error {
	return &DocumentError{Where: where, Msg: fmt.Sprintf(format, args...)}
}

func inputErr(format string, args ...interface{}) error {
	return &InputError{Msg: fmt.Sprintf(format, args...)}
}

// MaxWidth caps every column count a document declares (n_in, n_out,
// n_features, n_outputs, one-hot widths): a document claiming more is refused
// rather than allowed to allocate without bound.
const MaxWidth = 1 << 20

// maxExactInt: integers beyond 2^53 cannot be told apart as float64.
const maxExactInt = 1 << 53

func obj(v *jval, where string, required, optional []string) error {
	if v == nil || v.kind != jObj {
		return fail(where, "must be an object. Got %s instead.", kindOf(v))
	}
	var missing []string
	for _, k := range required {
		if !v.has(k) {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return fail(where, "missing field(s) %s", strings.Join(missing, ", "))
	}
	var unknown []string
	for _, m := range v.obj {
		if !contains(required, m.key) && !contains(optional, m.key) {
			unknown = append(unknown, pyQuote(m.key, 40))
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		if len(unknown) > 5 {
			unknown = append(unknown[:5], "...")
		}
		return fail(where, "unknown field(s) %s: written by a newer format version?", strings.Join(unknown, ", "))
	}
	return nil
}

func kindOf(v *jval) string {
	if v == nil {
		return "nothing"
	}
	return v.kind.String()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// number: a JSON number or one of "NaN", "Infinity", "-Infinity".
func number(v *jval, where string) (float64, error) {
	if v != nil {
		switch v.kind {
		case jNum:
			return v.num, nil
		case jStr:
			switch v.str {
			case "NaN":
				return math.NaN(), nil
			case "Infinity":
				return math.Inf(1), nil
			case "-Infinity":
				return math.Inf(-1), nil
			}
		}
	}
	return 0, fail(where, "must be a number (or \"NaN\", \"Infinity\", \"-Infinity\"). Got %s instead.", descr(v))
}

func descr(v *jval) string {
	if v == nil {
		return "nothing"
	}
	return v.describe()
}

// numbers: an array of numbers; length < 0 means any length.
func numbers(v *jval, where string, length int) ([]float64, error) {
	if v == nil || (v.kind != jArr && v.kind != jNumArr) {
		return nil, fail(where, "must be an array of numbers. Got %s instead.", kindOf(v))
	}
	if length >= 0 && v.length() != length {
		return nil, fail(where, "must have %d numbers. Got %d instead.", length, v.length())
	}
	if v.kind == jNumArr {
		return v.nums, nil
	}
	out := make([]float64, len(v.arr))
	for i, e := range v.arr {
		f, err := number(e, fmt.Sprintf("%s[%d]", where, i))
		if err != nil {
			return nil, err
		}
		out[i] = f
	}
	return out, nil
}

// matrix: an array of rows of numbers; rows / cols < 0 mean any (all rows as long as the first).
func matrix(v *jval, where string, rows, cols int) ([][]float64, error) {
	if v == nil || (v.kind != jArr && v.kind != jNumArr) {
		return nil, fail(where, "must be an array of arrays. Got %s instead.", kindOf(v))
	}
	if rows >= 0 && v.length() != rows {
		return nil, fail(where, "must have %d rows. Got %d instead.", rows, v.length())
	}
	if v.kind == jNumArr {
		return nil, fail(where+"[0]", "must be an array of numbers. Got number instead.")
	}
	out := make([][]float64, len(v.arr))
	for i, r := range v.arr {
		want := cols
		if want < 0 && len(v.arr) > 0 && (v.arr[0].kind == jArr || v.arr[0].kind == jNumArr) {
			want = v.arr[0].length()
		}
		row, err := numbers(r, fmt.Sprintf("%s[%d]", where, i), want)
		if err != nil {
			return nil, err
		}
		out[i] = row
	}
	return out, nil
}

// integer: an integer token in [lo, hi].
func integer(v *jval, where string, lo, hi int) (int, error) {
	if v == nil || v.kind != jNum || !v.isInt {
		return 0, fail(where, "must be an integer. Got %s instead.", descr(v))
	}
	if math.Abs(v.num) > maxExactInt || v.num < float64(lo) || v.num > float64(hi) {
		return 0, fail(where, "must be in [%d, %d]. Got %s instead.", lo, hi, shorten(v.str, 30))
	}
	return int(v.num), nil
}

// ints: an array of integer tokens, each in [lo, hi]; length < 0 means any.
func ints(v *jval, where string, length, lo, hi int) ([]int, error) {
	if v == nil || (v.kind != jArr && v.kind != jNumArr) {
		return nil, fail(where, "must be an array of integers. Got %s instead.", kindOf(v))
	}
	if length >= 0 && v.length() != length {
		return nil, fail(where, "must have %d integers. Got %d instead.", length, v.length())
	}
	if v.kind == jArr {
		out := make([]int, len(v.arr))
		for i, e := range v.arr {
			x, err := integer(e, fmt.Sprintf("%s[%d]", where, i), lo, hi)
			if err != nil {
				return nil, err
			}
			out[i] = x
		}
		return out, nil
	}
	if i := v.firstNonInt(); i >= 0 {
		return nil, fail(fmt.Sprintf("%s[%d]", where, i), "must be an integer. Got %s instead.", pyFloat(v.nums[i]))
	}
	out := make([]int, len(v.nums))
	for i, f := range v.nums {
		if f < float64(lo) || f > float64(hi) || math.Abs(f) > maxExactInt {
			return nil, fail(fmt.Sprintf("%s[%d]", where, i), "must be in [%d, %d]. Got %s instead.", lo, hi,
				pyInt(f))
		}
		out[i] = int(f)
	}
	return out, nil
}

func pyInt(f float64) string {
	if math.Abs(f) < 1e18 {
		return fmt.Sprintf("%d", int64(f))
	}
	return fmt.Sprintf("%.0f", f)
}

func enum(v *jval, where string, allowed ...string) (string, error) {
	if v != nil && v.kind == jStr && contains(allowed, v.str) {
		return v.str, nil
	}
	return "", fail(where, "must be one of %s. Got %s instead (unknown to this scorer).",
		strings.Join(allowed, ", "), descr(v))
}

func boolean(v *jval, where string) (bool, error) {
	if v == nil || v.kind != jBool {
		return false, fail(where, "must be true or false. Got %s instead.", descr(v))
	}
	return v.b, nil
}

func str(v *jval, where string) (string, error) {
	if v == nil || v.kind != jStr {
		return "", fail(where, "must be a string. Got %s instead.", descr(v))
	}
	return v.str, nil
}

func strs(v *jval, where string) ([]string, error) {
	if v == nil || (v.kind != jArr && v.kind != jNumArr) {
		return nil, fail(where, "must be an array of strings. Got %s instead.", kindOf(v))
	}
	if v.kind == jNumArr {
		return nil, fail(where, "must be an array of strings. Got numbers instead.")
	}
	out := make([]string, len(v.arr))
	for i, e := range v.arr {
		if e.kind != jStr {
			return nil, fail(where, "must be an array of strings. Got %s at [%d] instead.", e.describe(), i)
		}
		out[i] = e.str
	}
	return out, nil
}

func array(v *jval, where string) ([]*jval, error) {
	if v == nil || (v.kind != jArr && v.kind != jNumArr) {
		return nil, fail(where, "must be an array. Got %s instead.", kindOf(v))
	}
	if v.kind == jNumArr {
		return nil, fail(where, "must be an array of objects. Got numbers instead.")
	}
	return v.arr, nil
}

// cell is one value inside the pipeline: a number (NaN = missing) or a string.
type cell struct {
	isStr bool
	num   float64
	str   string
}

// typed: {"number": n} or {"string": s}.
func typed(v *jval, where string) (cell, error) {
	if v == nil || v.kind != jObj || len(v.obj) != 1 || (v.obj[0].key != "number" && v.obj[0].key != "string") {
		return cell{}, fail(where, "must be {\"number\": n} or {\"string\": s}")
	}
	if v.obj[0].key == "number" {
		f, err := number(v.obj[0].val, where+".number")
		return cell{num: f}, err
	}
	s := v.obj[0].val
	if s.kind != jStr {
		return cell{}, fail(where, "string value must be a JSON string")
	}
	return cell{isStr: true, str: s.str}, nil
}

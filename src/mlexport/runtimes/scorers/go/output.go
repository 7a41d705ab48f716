package scorer

// The output node: classifier labels and probabilities, regressor values.

import (
	"fmt"
	"math"
	"strconv"
)

type output struct {
	kind string // "classifier" or "regressor"
	m    int    // raw columns
	// regressor
	exp     bool
	squeeze bool
	targets int
	// classifier
	classes    []Class
	labelText  []string               // each class as the label array prints it
	headerText []string               // each class as f"proba_{c}" prints it
	proba      func(raw, p []float64) // one row: raw (m) -> p (k)
	fromProba  bool
	threshold  bool
	thr        float64
	inclusive  bool
}

var probaTransforms = []string{"identity", "sigmoid_binary", "softmax", "sigmoid_ovr", "modified_huber", "complement_binary"}

func compileOutput(d *jval, where string, m int, task Task) (*output, error) {
	if d == nil || d.kind != jObj || !d.has("kind") {
		return nil, fail(where, "must be an object with a 'kind'")
	}
	kind, err := enum(d.get("kind"), where+".kind", "classifier", "regressor")
	if err != nil {
		return nil, err
	}
	if (kind == "classifier") != (task == Classification) {
		return nil, fail(where, "kind '%s' does not match task '%s'", kind, task)
	}
	o := &output{kind: kind, m: m}
	if kind == "regressor" {
		if err := obj(d, where, []string{"kind", "transform", "squeeze"}, nil); err != nil {
			return nil, err
		}
		tr, err := enum(d.get("transform"), where+".transform", "identity", "exp")
		if err != nil {
			return nil, err
		}
		sq := d.get("squeeze")
		if sq.kind != jBool {
			return nil, fail(where, "squeeze must be true or false")
		}
		o.exp = tr == "exp"
		o.squeeze = sq.b && m == 1
		o.targets = m
		return o, nil
	}
	if err := obj(d, where, []string{"kind", "classes", "label"}, []string{"proba"}); err != nil {
		return nil, err
	}
	cl := d.get("classes")
	if cl == nil {
		return nil, fail(where, "classes must be a non-empty array")
	}
	if (cl.kind != jArr && cl.kind != jNumArr) || cl.length() == 0 {
		return nil, fail(where, "classes must be a non-empty array")
	}
	if cl.length() > MaxWidth {
		return nil, fail(where, "more than %d classes", MaxWidth)
	}
	if err := o.readClasses(cl, where); err != nil {
		return nil, err
	}
	k := len(o.classes)
	if p := d.get("proba"); p != nil {
		pw := where + ".proba"
		if err := obj(p, pw, []string{"transform"}, []string{"scale"}); err != nil {
			return nil, err
		}
		tr, err := enum(p.get("transform"), pw+".transform", probaTransforms...)
		if err != nil {
			return nil, err
		}
		scale := 1.0
		if tr == "sigmoid_binary" {
			if !p.has("scale") {
				return nil, fail(pw, "sigmoid_binary needs 'scale'")
			}
			if scale, err = number(p.get("scale"), pw+".scale"); err != nil {
				return nil, err
			}
		} else if p.has("scale") {
			return nil, fail(pw, "'scale' is only used by sigmoid_binary")
		}
		kOut := m
		if tr == "sigmoid_binary" || tr == "complement_binary" || (tr == "modified_huber" && m == 1) {
			kOut = 2
		}
		if (tr == "sigmoid_binary" || tr == "complement_binary") && m != 1 {
			return nil, fail(pw, "%s needs a single raw column. Got %d instead.", tr, m)
		}
		if kOut != k {
			return nil, fail(pw, "gives %d probabilities for %d classes", kOut, k)
		}
		o.proba = probaFunc(tr, scale, m)
	}
	lw := where + ".label"
	lab := d.get("label")
	if err := obj(lab, lw, []string{"from", "rule"}, []string{"threshold", "inclusive"}); err != nil {
		return nil, err
	}
	src, err := enum(lab.get("from"), lw+".from", "raw", "proba")
	if err != nil {
		return nil, err
	}
	rule, err := enum(lab.get("rule"), lw+".rule", "argmax", "threshold")
	if err != nil {
		return nil, err
	}
	if src == "proba" && o.proba == nil {
		return nil, fail(lw, "label from 'proba' needs a proba transform")
	}
	o.fromProba = src == "proba"
	width := m
	if o.fromProba {
		width = k
	}
	if rule == "threshold" {
		if err := obj(lab, lw, []string{"from", "rule", "threshold", "inclusive"}, nil); err != nil {
			return nil, err
		}
		if o.thr, err = number(lab.get("threshold"), lw+".threshold"); err != nil {
			return nil, err
		}
		inc := lab.get("inclusive")
		if inc.kind != jBool {
			return nil, fail(lw, "inclusive must be true or false")
		}
		o.inclusive = inc.b
		if width != 1 || k != 2 {
			return nil, fail(lw, "the threshold rule needs one source column and two classes")
		}
		o.threshold = true
	} else {
		if err := obj(lab, lw, []string{"from", "rule"}, nil); err != nil {
			return nil, err
		}
		if width != k {
			return nil, fail(lw, "argmax over %d columns for %d classes", width, k)
		}
	}
	return o, nil
}

// readClasses reads the classes and how they print: the label array follows
// numpy's promotion (all bool -> bool, all int -> int64, numbers -> float64,
// otherwise objects), the proba_<class> headers print each class as it is.
func (o *output) readClasses(cl *jval, where string) error {
	var vals []*jval
	if cl.kind == jNumArr {
		for i, f := range cl.nums {
			isInt := cl.tokenIsInt(i)
			vals = append(vals, &jval{kind: jNum, num: f, isInt: isInt})
		}
	} else {
		vals = cl.arr
	}
	allBool, allInt, allNum := true, true, true
	for i, v := range vals {
		cw := fmt.Sprintf("%s.classes[%d]", where, i)
		var c Class
		switch v.kind {
		case jStr:
			c = Class{Kind: ClassString, Str: v.str}
			allBool, allInt, allNum = false, false, false
		case jBool:
			c = Class{Kind: ClassBool, Bool: v.b}
			allInt, allNum = false, false
		case jNum:
			allBool = false
			if v.isInt {
				if math.Abs(v.num) > maxExactInt {
					return fail(cw, "integer class beyond 2^53")
				}
				c = Class{Kind: ClassInt, Int: int64(v.num), Float: v.num}
			} else {
				if math.IsInf(v.num, 0) {
					return fail(cw, "a class must be finite")
				}
				c = Class{Kind: ClassFloat, Float: v.num}
				allInt = false
			}
		default:
			return fail(cw, "a class must be a string, number or boolean")
		}
		o.classes = append(o.classes, c)
	}
	for _, c := range o.classes {
		o.headerText = append(o.headerText, c.String())
		switch {
		case allBool || allInt:
			o.labelText = append(o.labelText, c.String())
		case allNum:
			f := c.Float
			if c.Kind == ClassInt {
				f = float64(c.Int)
			}
			o.labelText = append(o.labelText, pyFloat(f))
		default:
			o.labelText = append(o.labelText, c.String())
		}
	}
	return nil
}

func (o *output) columns() []string {
	if o.kind == "regressor" {
		if o.squeeze {
			return []string{"value"}
		}
		cols := make([]string, o.targets)
		for j := range cols {
			cols[j] = "value_" + strconv.Itoa(j)
		}
		return cols
	}
	cols := []string{"label"}
	switch {
	case o.proba != nil:
		for _, h := range o.headerText {
			cols = append(cols, "proba_"+h)
		}
	case o.m == 1:
		cols = append(cols, "decision")
	default:
		for _, h := range o.headerText {
			cols = append(cols, "decision_"+h)
		}
	}
	return cols
}

// normaliseRow divides by the row sum; an all-zero row becomes uniform.
func normaliseRow(p []float64) {
	s := 0.0
	for _, v := range p {
		s += v
	}
	if s == 0 {
		for j := range p {
			p[j] = 1
		}
		s = float64(len(p))
	}
	for j := range p {
		p[j] /= s
	}
}

func clip1(v float64) float64 {
	if v < -1 {
		return -1
	}
	if v > 1 {
		return 1
	}
	return v
}

func probaFunc(tr string, scale float64, m int) func(raw, p []float64) {
	switch tr {
	case "identity":
		return func(raw, p []float64) { copy(p, raw) }
	case "softmax":
		return func(raw, p []float64) { copy(p, raw); softmaxRow(p) }
	case "sigmoid_ovr":
		return func(raw, p []float64) {
			for j, v := range raw {
				p[j] = sigmoid(v)
			}
			normaliseRow(p)
		}
	case "sigmoid_binary":
		return func(raw, p []float64) {
			q := sigmoid(scale * raw[0])
			p[0], p[1] = 1-q, q
		}
	case "complement_binary":
		return func(raw, p []float64) { p[0], p[1] = 1-raw[0], raw[0] }
	default: // modified_huber
		return func(raw, p []float64) {
			if m == 1 {
				q := (clip1(raw[0]) + 1) / 2
				p[0], p[1] = 1-q, q
				return
			}
			for j, v := range raw {
				p[j] = (clip1(v) + 1) / 2
			}
			normaliseRow(p)
		}
	}
}

// argmax: the first index of the row maximum; a NaN counts as the maximum (numpy's rule).
func argmax(x []float64) int {
	best := 0
	for j, v := range x {
		if v != v {
			return j
		}
		if v > x[best] {
			best = j
		}
	}
	return best
}

func (o *output) apply(raw []float64, n, offset int, out *Outputs) {
	m := o.m
	if o.kind == "regressor" {
		dst := out.Value[offset*m : (offset+n)*m]
		for i, v := range raw[:n*m] {
			if o.exp {
				v = expPortable(v)
			}
			dst[i] = v
		}
		return
	}
	k := len(o.classes)
	for i := 0; i < n; i++ {
		r := raw[i*m : (i+1)*m]
		var p []float64
		if o.proba != nil {
			p = out.Proba[(offset+i)*k : (offset+i+1)*k]
			o.proba(r, p)
		} else {
			copy(out.Decision[(offset+i)*m:(offset+i+1)*m], r)
		}
		src := r
		if o.fromProba {
			src = p
		}
		var label int
		if o.threshold {
			v := src[0]
			if (o.inclusive && v >= o.thr) || (!o.inclusive && v > o.thr) {
				label = 1
			}
		} else {
			label = argmax(src)
		}
		out.Label[offset+i] = label
	}
}

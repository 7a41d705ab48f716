package scorer

// Model nodes: linear, gaussian_nb, mlp, tree_ensemble. Each maps the batch
// feature matrix X (n rows x nFeatures, row-major) to raw outputs (n x nOutputs).

import (
	"fmt"
	"math"
	"strings"
)

type modelNode struct {
	nFeatures, nOutputs int
	widest              int
	raw                 func(X []float64, n int) []float64
}

var modelTypes = []string{"linear", "gaussian_nb", "mlp", "tree_ensemble"}
var modelCommon = []string{"type", "n_features", "n_outputs"}

func compileModel(d *jval, where string) (*modelNode, error) {
	if d == nil || d.kind != jObj || !d.has("type") {
		return nil, fail(where, "must be an object with a 'type'")
	}
	t := d.get("type")
	if t.kind != jStr || !contains(modelTypes, t.str) {
		return nil, fail(where, "unknown model type %s (this scorer knows %s)", t.describe(), strings.Join(modelTypes, ", "))
	}
	where = fmt.Sprintf("%s(%s)", where, t.str)
	n, err := integer(d.get("n_features"), where+".n_features", 0, MaxWidth)
	if err != nil {
		return nil, err
	}
	m, err := integer(d.get("n_outputs"), where+".n_outputs", 1, MaxWidth)
	if err != nil {
		return nil, err
	}
	var node *modelNode
	switch t.str {
	case "linear":
		node, err = cLinear(d, where, n, m)
	case "gaussian_nb":
		node, err = cGaussianNB(d, where, n, m)
	case "mlp":
		node, err = cMLP(d, where, n, m)
	default:
		node, err = cEnsemble(d, where, n, m)
	}
	if err != nil {
		return nil, err
	}
	if n > node.widest {
		node.widest = n
	}
	if m > node.widest {
		node.widest = m
	}
	return node, nil
}

func flatten(rows [][]float64, cols int) []float64 {
	out := make([]float64, 0, len(rows)*cols)
	for _, r := range rows {
		out = append(out, r...)
	}
	return out
}

func cLinear(d *jval, where string, n, m int) (*modelNode, error) {
	if err := obj(d, where, with(modelCommon, "coef", "intercept"), info); err != nil {
		return nil, err
	}
	coefM, err := matrix(d.get("coef"), where+".coef", m, n)
	if err != nil {
		return nil, err
	}
	intercept, err := numbers(d.get("intercept"), where+".intercept", m)
	if err != nil {
		return nil, err
	}
	coef := flatten(coefM, n)
	return &modelNode{nFeatures: n, nOutputs: m, raw: func(X []float64, rows int) []float64 {
		raw := make([]float64, rows*m)
		for i := 0; i < rows; i++ {
			x := X[i*n : (i+1)*n]
			for k := 0; k < m; k++ {
				w := coef[k*n : (k+1)*n]
				s := 0.0
				for j, v := range x {
					s += float64(v * w[j])
				}
				raw[i*m+k] = s + intercept[k]
			}
		}
		return raw
	}}, nil
}

func cGaussianNB(d *jval, where string, n, m int) (*modelNode, error) {
	if err := obj(d, where, with(modelCommon, "theta", "var", "log_prior", "log_norm"), info); err != nil {
		return nil, err
	}
	thetaM, err := matrix(d.get("theta"), where+".theta", m, n)
	if err != nil {
		return nil, err
	}
	varM, err := matrix(d.get("var"), where+".var", m, n)
	if err != nil {
		return nil, err
	}
	logPrior, err := numbers(d.get("log_prior"), where+".log_prior", m)
	if err != nil {
		return nil, err
	}
	logNorm, err := numbers(d.get("log_norm"), where+".log_norm", m)
	if err != nil {
		return nil, err
	}
	theta, vr := flatten(thetaM, n), flatten(varM, n)
	return &modelNode{nFeatures: n, nOutputs: m, raw: func(X []float64, rows int) []float64 {
		raw := make([]float64, rows*m)
		for i := 0; i < rows; i++ {
			x := X[i*n : (i+1)*n]
			for k := 0; k < m; k++ {
				th, va := theta[k*n:(k+1)*n], vr[k*n:(k+1)*n]
				s := 0.0
				for j, v := range x {
					dlt := v - th[j]
					s += float64(dlt*dlt) / va[j]
				}
				raw[i*m+k] = logPrior[k] + (logNorm[k] - float64(0.5*s))
			}
		}
		return raw
	}}, nil
}

// sigmoid is 1 / (1 + exp(-x)), the formula SPEC.md prescribes.
func sigmoid(x float64) float64 { return 1.0 / (1.0 + expPortable(-x)) }

// softmaxRow: exp(x - max) / sum, in place; a NaN anywhere gives NaN everywhere (numpy's max).
func softmaxRow(x []float64) {
	mx := x[0]
	for _, v := range x {
		if v != v {
			mx = v
			break
		}
		if v > mx {
			mx = v
		}
	}
	s := 0.0
	for j, v := range x {
		e := expPortable(v - mx)
		x[j] = e
		s += e
	}
	for j := range x {
		x[j] /= s
	}
}

func activate(a []float64, width int, name string) {
	switch name {
	case "identity":
	case "logistic":
		for i, v := range a {
			a[i] = sigmoid(v)
		}
	case "tanh":
		for i, v := range a {
			a[i] = math.Tanh(v)
		}
	case "relu":
		for i, v := range a {
			if !(v > 0) && v == v {
				a[i] = 0
			}
		}
	case "softmax":
		for r := 0; r+width <= len(a); r += width {
			softmaxRow(a[r : r+width])
		}
	}
}

var activations = []string{"identity", "logistic", "tanh", "relu", "softmax"}

type layer struct {
	w       []float64 // in x out, row-major
	b       []float64
	in, out int
}

func cMLP(d *jval, where string, n, m int) (*modelNode, error) {
	if err := obj(d, where, with(modelCommon, "hidden_activation", "output_activation", "layers"), info); err != nil {
		return nil, err
	}
	hidden, err := enum(d.get("hidden_activation"), where+".hidden_activation", activations[:4]...)
	if err != nil {
		return nil, err
	}
	outAct, err := enum(d.get("output_activation"), where+".output_activation", activations...)
	if err != nil {
		return nil, err
	}
	list, err := array(d.get("layers"), where+".layers")
	if err != nil || len(list) == 0 {
		return nil, fail(where, "layers must be a non-empty array")
	}
	var layers []layer
	cur, widest := n, n
	for i, l := range list {
		lw := fmt.Sprintf("%s.layers[%d]", where, i)
		if err := obj(l, lw, []string{"weights", "bias"}, nil); err != nil {
			return nil, err
		}
		w, err := matrix(l.get("weights"), lw+".weights", cur, -1)
		if err != nil {
			return nil, err
		}
		if len(w) != cur {
			return nil, fail(lw, "weights must have %d rows", cur)
		}
		width := 0
		if cur > 0 {
			width = len(w[0])
		} else {
			return nil, fail(lw, "a layer needs inputs")
		}
		if width > MaxWidth {
			return nil, fail(lw, "more than %d units", MaxWidth)
		}
		b, err := numbers(l.get("bias"), lw+".bias", width)
		if err != nil {
			return nil, err
		}
		layers = append(layers, layer{w: flatten(w, width), b: b, in: cur, out: width})
		cur = width
		if cur > widest {
			widest = cur
		}
	}
	if cur != m {
		return nil, fail(where, "the last layer gives %d outputs, n_outputs is %d", cur, m)
	}
	return &modelNode{nFeatures: n, nOutputs: m, widest: widest, raw: func(X []float64, rows int) []float64 {
		a := X
		for li, l := range layers {
			next := make([]float64, rows*l.out)
			for i := 0; i < rows; i++ {
				x := a[i*l.in : (i+1)*l.in]
				y := next[i*l.out : (i+1)*l.out]
				for j, v := range x {
					w := l.w[j*l.out : (j+1)*l.out]
					for k, wk := range w {
						y[k] += float64(v * wk)
					}
				}
				for k := range y {
					y[k] += l.b[k]
				}
			}
			act := hidden
			if li == len(layers)-1 {
				act = outAct
			}
			activate(next, l.out, act)
			a = next
		}
		return a
	}}, nil
}

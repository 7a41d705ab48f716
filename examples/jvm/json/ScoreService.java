import dev.mlexport.MlexportJsonScorer;
import dev.mlexport.MlexportJsonScorer.Input;
import dev.mlexport.MlexportJsonScorer.Prediction;

import java.nio.file.Paths;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * How a JVM service uses an mlexport JSON model: load it once at start-up, then score each request.
 *
 * <pre>
 * java -cp gson.jar:build ScoreService model.json age=42 city=Paris plan=
 * </pre>
 *
 * Each {@code name=value} argument stands for one request field; an empty value is a missing value.
 */
public final class ScoreService {

    private final MlexportJsonScorer scorer;

    ScoreService(String modelPath) throws Exception {
        // Load and validate once. A document this scorer does not fully understand (newer format version,
        // unknown node type, malformed tree...) fails here, at start-up, never at request time.
        this.scorer = MlexportJsonScorer.load(Paths.get(modelPath));
    }

    /** One request: field name -> raw text, as it arrives from JSON, a form or a query string. */
    Prediction handle(Map<String, String> request) {
        Map<String, Object> row = new HashMap<>();
        for (Input in : scorer.inputs()) {
            String v = request.get(in.name);
            if (v == null || v.isEmpty()) {
                row.put(in.name, null);                     // missing: imputers / trees handle it as sklearn did
            } else if (in.kind == MlexportJsonScorer.Kind.NUMBER) {
                try {
                    row.put(in.name, Double.parseDouble(v));
                } catch (NumberFormatException e) {
                    throw new MlexportJsonScorer.InputException("field '" + in.name + "' must be a number. Got '" + v + "'.");
                }
            } else {
                row.put(in.name, v);
            }
        }
        return scorer.predict(row);                          // thread-safe: share one scorer across threads
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: ScoreService MODEL.json [name=value ...]");
            System.exit(2);
        }
        ScoreService service = new ScoreService(args[0]);
        Map<String, String> request = new HashMap<>();
        for (String a : Arrays.copyOfRange(args, 1, args.length)) {
            int eq = a.indexOf('=');
            request.put(a.substring(0, eq), a.substring(eq + 1));
        }
        try {
            Prediction p = service.handle(request);
            if (service.scorer.isClassifier()) {
                System.out.println("label=" + p.label + (p.proba != null ? " proba=" + Arrays.toString(p.proba)
                    : " decision=" + Arrays.toString(p.decision)) + " classes=" + service.scorer.classes());
            } else {
                System.out.println("value=" + Arrays.toString(p.value));
            }
        } catch (MlexportJsonScorer.InputException e) {
            // a bad request (unknown category with handle_unknown='error', text in a number column...): a 400
            System.err.println("bad request: " + e.getMessage());
            System.exit(2);
        }
    }
}

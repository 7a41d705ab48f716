package mlexport.pmml4s;

import java.util.HashMap;
import java.util.Map;

import org.pmml4s.data.DataVal;
import org.pmml4s.metadata.OutputField;
import org.pmml4s.model.Model;

import scala.Option;

/**
 * Scores a batch of rows with PMML4S in the JVM mlexport already runs, from whole columns.
 *
 * Compiled against the jars of the installed pypmml package and loaded in a class loader of
 * its own (Scala and PMML4S never meet the converter's and JPMML's jars). Python hands the
 * numeric inputs as one column-major double[] (NaN = missing) and the string inputs as one
 * column-major String[] (null = missing); each row goes to {@code Model.predict(Object[])}
 * with the values in the model's input order, as PMML4S's own JSON path builds them, and
 * every output column comes back whole. Rows are scored one after the other: PMML4S does
 * not promise that one Model scores safely from several threads.
 */
public final class Pmml4sBatchScorer {

	private final Model model;
	private final String[] inputNames;
	private final String[] outputNames;

	public Pmml4sBatchScorer(String path){
		this.model = Model.fromFile(path);
		// PMML4S adds the predicted label (and its probability) to the file's own OutputFields
		this.model.setSupplementOutput(true);
		this.inputNames = this.model.inputNames();
		this.outputNames = this.model.outputNames();
	}

	public String[] outputNames(){
		return this.outputNames.clone();
	}

	/**
	 * Per output column: the class value of a probability OutputField (as text), or null for
	 * every other output.
	 */
	public String[] probabilityValues(){
		Map<String, String> values = new HashMap<>();
		for(OutputField field : this.model.outputFields()){
			Option<DataVal> value = field.value();
			if(!"probability".equals(String.valueOf(field.feature())) || value.isEmpty()){
				continue;
			}
			Object raw = value.get().toVal();
			values.putIfAbsent(field.name(), (raw != null) ? String.valueOf(raw) : null);
		}
		String[] result = new String[this.outputNames.length];
		for(int j = 0; j < result.length; j++){
			result[j] = values.get(this.outputNames[j]);
		}
		return result;
	}

	/**
	 * Scores n rows. Output column j, row r: numbers[j * n + r] when PMML4S returned a
	 * floating-point value (NaN when it returned none), else texts[j * n + r] (its text: an
	 * integer or string label). The first row PMML4S throws on stops the batch.
	 */
	public Batch score(String[] numNames, double[] num, String[] strNames, String[] str, int n){
		int width = this.outputNames.length;
		double[] numbers = new double[width * n];
		String[] texts = new String[width * n];

		// where each input of the model comes from: >= 0 a numeric column, < 0 -(string column + 1)
		int[] source = new int[this.inputNames.length];
		for(int i = 0; i < this.inputNames.length; i++){
			source[i] = Integer.MIN_VALUE;
			for(int c = 0; numNames != null && c < numNames.length; c++){
				if(numNames[c].equals(this.inputNames[i])){
					source[i] = c;
				}
			}
			for(int c = 0; strNames != null && c < strNames.length; c++){
				if(strNames[c].equals(this.inputNames[i])){
					source[i] = -(c + 1);
				}
			}
		}

		Object[] row = new Object[this.inputNames.length];
		for(int r = 0; r < n; r++){
			for(int i = 0; i < row.length; i++){
				int s = source[i];
				if(s == Integer.MIN_VALUE){
					row[i] = null;
				} else if(s >= 0){
					double v = num[s * n + r];
					row[i] = Double.isNaN(v) ? null : (Object)v;
				} else {
					row[i] = str[(-s - 1) * n + r];
				}
			}

			Object[] result;
			try {
				result = this.model.predict((Object)row.clone());
			} catch(RuntimeException e){
				String message = e.getMessage();
				return new Batch(numbers, texts, r, e.getClass().getSimpleName() + ((message != null) ? (": " + message) : ""));
			}

			for(int j = 0; j < width; j++){
				Object value = (j < result.length) ? result[j] : null;
				if(value instanceof DataVal){
					value = ((DataVal)value).toVal();
				}
				if(value instanceof Double || value instanceof Float){
					numbers[j * n + r] = ((Number)value).doubleValue();
				} else {
					numbers[j * n + r] = Double.NaN;
					texts[j * n + r] = (value != null) ? String.valueOf(value) : null;
				}
			}
		}
		return new Batch(numbers, texts, -1, null);
	}

	/** What one {@link #score} call returns. errorRow is -1 when every row was scored. */
	static
	public final class Batch {

		public final double[] numbers;
		public final String[] texts;
		public final int errorRow;
		public final String error;

		Batch(double[] numbers, String[] texts, int errorRow, String error){
			this.numbers = numbers;
			this.texts = texts;
			this.errorRow = errorRow;
			this.error = error;
		}
	}
}

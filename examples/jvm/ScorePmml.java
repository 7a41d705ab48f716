/*
 * ScorePmml: score a CSV file with a PMML model exported by `mlexport pmml`,
 * using only JPMML-Evaluator (the jars of the jpmml_evaluator Python package).
 *
 *   java -cp "$CP:build" ScorePmml model.pmml data.csv predictions.csv
 *
 * The output has the same columns as `mlexport score`: `label` and one
 * `proba_<class>` per class for classifiers, `value` for regressors, one row
 * per input row, in order. Missing inputs are empty cells (or NaN / nan).
 * A row the model cannot score stops the program with its row number.
 *
 * Plain Java 11+, no build tool: see README.md.
 */

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.dmg.pmml.DataType;
import org.dmg.pmml.MiningFunction;
import org.dmg.pmml.ResultFeature;
import org.jpmml.evaluator.Computable;
import org.jpmml.evaluator.Evaluator;
import org.jpmml.evaluator.EvaluatorUtil;
import org.jpmml.evaluator.InputField;
import org.jpmml.evaluator.LoadingModelEvaluatorBuilder;
import org.jpmml.evaluator.OutputField;
import org.jpmml.evaluator.TargetField;

public class ScorePmml {

	public static void main(String[] args) throws Exception {
		if(args.length != 3){
			System.err.println("usage: java ScorePmml MODEL.pmml DATA.csv PREDICTIONS.csv");
			System.exit(2);
		}

		Evaluator evaluator = new LoadingModelEvaluatorBuilder()
			.load(new File(args[0]))
			.build();
		// Replays the verification rows mlexport embedded in the file
		evaluator.verify();

		TargetField target = evaluator.getTargetFields().get(0);
		boolean classification = evaluator.getMiningFunction() == MiningFunction.CLASSIFICATION;
		List<Object> categories = classification ? target.getCategories() : new ArrayList<>();

		// One "probability(<class>)" output field per class, in the target's class order
		List<String> probabilityFields = new ArrayList<>();
		for(Object category : categories){
			String found = null;
			for(OutputField outputField : evaluator.getOutputFields()){
				org.dmg.pmml.OutputField field = outputField.getField();
				if(outputField.isFinalResult() && field.getResultFeature() == ResultFeature.PROBABILITY
					&& String.valueOf(category).equals(String.valueOf(field.getValue()))){
					found = outputField.getName();
					break;
				}
			}
			probabilityFields.add(found);
		}
		boolean withProbabilities = classification && !probabilityFields.isEmpty() && !probabilityFields.contains(null);

		try(BufferedReader reader = Files.newBufferedReader(Paths.get(args[1]), StandardCharsets.UTF_8);
			BufferedWriter writer = Files.newBufferedWriter(Paths.get(args[2]), StandardCharsets.UTF_8)){

			List<String> header = parseLine(reader.readLine());
			Map<String, Integer> columnIndex = new HashMap<>();
			for(int i = 0; i < header.size(); i++){
				columnIndex.put(header.get(i), i);
			}

			List<InputField> inputFields = evaluator.getInputFields();
			int[] inputColumns = new int[inputFields.size()];
			for(int i = 0; i < inputFields.size(); i++){
				Integer index = columnIndex.get(inputFields.get(i).getName());
				if(index == null){
					throw new IllegalArgumentException("The CSV has no column '" + inputFields.get(i).getName() + "'");
				}
				inputColumns[i] = index;
			}

			List<String> outHeader = new ArrayList<>();
			if(classification){
				outHeader.add("label");
				if(withProbabilities){
					for(Object category : categories){
						outHeader.add("proba_" + category);
					}
				}
			} else {
				outHeader.add("value");
			}
			writer.write(formatLine(outHeader));
			writer.newLine();

			Map<String, Object> arguments = new HashMap<>();
			String line;
			int row = 0;
			while((line = reader.readLine()) != null){
				if(line.isEmpty()){
					continue;
				}
				List<String> cells = parseLine(line);
				for(int i = 0; i < inputFields.size(); i++){
					InputField inputField = inputFields.get(i);
					String cell = (inputColumns[i] < cells.size()) ? cells.get(inputColumns[i]) : "";
					arguments.put(inputField.getName(), toValue(cell, inputField.getDataType()));
				}

				Map<String, ?> results;
				try {
					results = evaluator.evaluate(arguments);
				} catch(Exception e){
					throw new IllegalArgumentException("Row " + row + " could not be scored: " + e.getMessage(), e);
				}

				List<String> out = new ArrayList<>();
				Object targetValue = results.get(target.getName());
				if(classification){
					Object label = (targetValue instanceof Computable) ? ((Computable)targetValue).getResult() : targetValue;
					out.add(label != null ? String.valueOf(label) : "");
					if(withProbabilities){
						for(String name : probabilityFields){
							out.add(formatNumber(EvaluatorUtil.decode(results.get(name))));
						}
					}
				} else {
					out.add(formatNumber(EvaluatorUtil.decode(targetValue)));
				}
				writer.write(formatLine(out));
				writer.newLine();
				row++;
			}
		}
	}

	/** A CSV cell as a JPMML argument: empty / NaN = missing, numbers parsed for numeric fields. */
	static Object toValue(String cell, DataType dataType){
		if(cell == null || cell.isEmpty() || cell.equalsIgnoreCase("nan") || cell.equalsIgnoreCase("NA")){
			return null;
		}
		switch(dataType){
			case DOUBLE:
			case FLOAT:
				return Double.valueOf(cell);
			case INTEGER:
				double value = Double.parseDouble(cell);
				if(value == Math.rint(value) && Math.abs(value) <= Integer.MAX_VALUE){
					return Integer.valueOf((int)value);
				}
				return value;
			default:
				return cell;
		}
	}

	static String formatNumber(Object value){
		if(value instanceof Number){
			double number = ((Number)value).doubleValue();
			return Double.isNaN(number) ? "" : Double.toString(number);
		}
		return (value != null) ? String.valueOf(value) : "";
	}

	/** RFC 4180: fields separated by commas, optionally quoted with "" for a literal quote. */
	static List<String> parseLine(String line){
		List<String> cells = new ArrayList<>();
		if(line == null){
			return cells;
		}
		StringBuilder cell = new StringBuilder();
		boolean quoted = false;
		for(int i = 0; i < line.length(); i++){
			char c = line.charAt(i);
			if(quoted){
				if(c == '"'){
					if(i + 1 < line.length() && line.charAt(i + 1) == '"'){
						cell.append('"');
						i++;
					} else {
						quoted = false;
					}
				} else {
					cell.append(c);
				}
			} else if(c == '"'){
				quoted = true;
			} else if(c == ','){
				cells.add(cell.toString());
				cell.setLength(0);
			} else {
				cell.append(c);
			}
		}
		cells.add(cell.toString());
		return cells;
	}

	static String formatLine(List<String> cells){
		StringBuilder sb = new StringBuilder();
		for(int i = 0; i < cells.size(); i++){
			if(i > 0){
				sb.append(',');
			}
			String cell = cells.get(i);
			if(cell.indexOf(',') >= 0 || cell.indexOf('"') >= 0 || cell.indexOf('\n') >= 0){
				sb.append('"').append(cell.replace("\"", "\"\"")).append('"');
			} else {
				sb.append(cell);
			}
		}
		return sb.toString();
	}
}

/*
 * mlexport's PMML file loader, run inside the JVM that mlexport starts through
 * JPype (see mlexport/jvm.py, which compiles this file once with javac).
 *
 * Why not LoadingModelEvaluatorBuilder#load alone: the cells of an InlineTable
 * row (<data:f0>1.5</data:f0>, how the converter writes ModelVerification rows)
 * are not PMML elements, so JAXB builds a DOM element for each, and for each it
 * creates a new DocumentBuilder (a parser configuration, looked up through the
 * class path). A file with 200 verification rows of 32 columns spent 0.4 to
 * 0.9 s there, 50 times the rest of its parse. Here a SAX filter takes those
 * cells out of the stream, keeping their name and text, and puts them back
 * afterwards as JAXBElement cells, which JPMML-Evaluator reads the same way
 * (InlineTableUtil keys a cell by "prefix:localName" either way).
 */
package mlexport.pmml;

import java.io.File;
import java.io.FileInputStream;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;

import javax.xml.namespace.QName;

import jakarta.xml.bind.JAXBElement;
import org.dmg.pmml.InlineTable;
import org.dmg.pmml.ModelVerification;
import org.dmg.pmml.PMML;
import org.dmg.pmml.Row;
import org.dmg.pmml.VisitorAction;
import org.jpmml.evaluator.LoadingModelEvaluatorBuilder;
import org.jpmml.evaluator.visitors.ModelEvaluatorVisitorBattery;
import org.jpmml.model.filters.ImportFilter;
import org.jpmml.model.visitors.AbstractVisitor;
import org.xml.sax.Attributes;
import org.xml.sax.SAXException;
import org.xml.sax.helpers.XMLFilterImpl;

public final class PmmlLoader {

	private PmmlLoader(){
	}

	/** A builder loaded from file, ready to build(); ModelVerification cells parsed without DOM. */
	public static LoadingModelEvaluatorBuilder load(File file) throws Exception {
		VerificationCellFilter cells = new VerificationCellFilter();

		LoadingModelEvaluatorBuilder builder = new LoadingModelEvaluatorBuilder()
			.setFilters(List.of(new ImportFilter(), cells))
			.setVisitors(null);

		try(InputStream is = new FileInputStream(file)){
			builder.load(is);
		}

		PMML pmml = builder.getPMML();
		cells.restore(pmml);

		// What LoadingModelEvaluatorBuilder#load applies by default, now that the cells are back
		new ModelEvaluatorVisitorBattery(builder.getMutable()).applyTo(pmml);

		return builder;
	}

	/**
	 * Removes the non-PMML child elements of ModelVerification/InlineTable/row from the
	 * SAX stream (JAXB never sees them) and records them per table, row and cell.
	 */
	static final class VerificationCellFilter extends XMLFilterImpl {

		private final List<List<List<JAXBElement<String>>>> tables = new ArrayList<>();

		/** 0 outside; 1 in ModelVerification; 2 in its InlineTable; 3 in a row; 4 in a cell. */
		private int level = 0;

		/** Depth inside an element this filter does not look into (0 when not in one). */
		private int other = 0;

		private String pmmlNamespace = null;

		private QName cell = null;

		private final StringBuilder text = new StringBuilder();

		@Override
		public void startElement(String uri, String localName, String qName, Attributes attributes) throws SAXException {

			if(this.level == 4){
				throw new SAXException("Unexpected element " + qName + " inside the inline table cell " + this.cell);
			} // End if

			if(this.other > 0){
				this.other += 1;
			} else

			if(this.level == 3 && !uri.equals(this.pmmlNamespace)){
				int colon = qName.indexOf(':');

				this.cell = new QName(uri, localName, colon > 0 ? qName.substring(0, colon) : "");
				this.text.setLength(0);
				this.level = 4;

				return;
			} else

			if(this.level == 0){

				if("ModelVerification".equals(localName)){
					this.pmmlNamespace = uri;
					this.level = 1;
				}
			} else

			if(this.level == 1 && "InlineTable".equals(localName) && uri.equals(this.pmmlNamespace)){
				this.tables.add(new ArrayList<>());
				this.level = 2;
			} else

			if(this.level == 2 && "row".equals(localName) && uri.equals(this.pmmlNamespace)){
				this.tables.get(this.tables.size() - 1).add(new ArrayList<>());
				this.level = 3;
			} else

			{
				this.other = 1; // some other element inside ModelVerification: passed through untouched
			}

			super.startElement(uri, localName, qName, attributes);
		}

		@Override
		public void endElement(String uri, String localName, String qName) throws SAXException {

			if(this.level == 4){
				List<List<JAXBElement<String>>> rows = this.tables.get(this.tables.size() - 1);

				rows.get(rows.size() - 1).add(new JAXBElement<>(this.cell, String.class, this.text.toString()));

				this.cell = null;
				this.level = 3;

				return;
			}

			super.endElement(uri, localName, qName);

			if(this.other > 0){
				this.other -= 1;
			} else

			if(this.level > 0){
				this.level -= 1;
			}
		}

		@Override
		public void characters(char[] ch, int start, int length) throws SAXException {

			if(this.level == 4){
				this.text.append(ch, start, length);

				return;
			}

			super.characters(ch, start, length);
		}

		/** Puts the recorded cells into the unmarshalled rows, table by table in document order. */
		void restore(PMML pmml){
			List<InlineTable> found = new ArrayList<>();

			new AbstractVisitor(){

				@Override
				public VisitorAction visit(ModelVerification modelVerification){
					InlineTable table = modelVerification.getInlineTable();

					if(table != null){
						found.add(table);
					}

					return VisitorAction.SKIP;
				}
			}.applyTo(pmml);

			if(found.size() != this.tables.size()){
				throw new IllegalStateException("Expected " + this.tables.size() + " verification table(s), found " + found.size());
			}

			for(int t = 0; t < found.size(); t++){
				List<Row> rows = found.get(t).getRows();
				List<List<JAXBElement<String>>> recorded = this.tables.get(t);

				if(rows.size() != recorded.size()){
					throw new IllegalStateException("Expected " + recorded.size() + " verification row(s), found " + rows.size());
				}

				for(int r = 0; r < rows.size(); r++){
					List<Object> content = rows.get(r).getContent();

					content.removeIf(value -> (value instanceof String) && ((String)value).trim().isEmpty());
					content.addAll(recorded.get(r));
				}
			}

			this.tables.clear();
		}
	}
}

// Validates FHIR JSON files with FHIR.js (npm "fhir", R4 StructureDefinitions): one JSON line per
// file with its errors (severity "error" only; example-binding notes are warnings/info).
// Usage: node fhirjs_validate.js <fhir module dir> <file>...
const { Fhir } = require(process.argv[2]);
const fs = require('fs');
const fhir = new Fhir();
for (const file of process.argv.slice(3)) {
  const res = fhir.validate(JSON.parse(fs.readFileSync(file, 'utf8')), { errorOnUnexpected: true });
  const errors = res.messages.filter((m) => m.severity === 'error').map((m) => `${m.location}: ${m.message}`);
  console.log(JSON.stringify({ file, valid: res.valid, errors }));
}

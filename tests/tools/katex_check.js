// Reads a JSON array of {"math": "...", "display": bool} on stdin; prints a JSON array of failures.
// One node process validates every math string (KaTeX with throwOnError and strict errors).
const katex = require("katex");
let input = "";
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  const failures = [];
  for (const item of JSON.parse(input)) {
    try {
      katex.renderToString(item.math, { displayMode: item.display, throwOnError: true, strict: "error" });
    } catch (error) {
      failures.push({ math: item.math, error: String(error.message || error) });
    }
  }
  process.stdout.write(JSON.stringify(failures));
});

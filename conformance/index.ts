/**
 * The conformance kit's programmatic API (`ih-mock/conformance`): the case catalogue, the runner for
 * a client command or function, property runs, several clients side by side, the invariants and
 * the reports.
 */
export { CASES, selectCases, TRANSPORTS } from './cases.js';
export type { ConformanceCase, Transport } from './cases.js';
export { runCase, runCatalogue, scenarioCase, sampleMedia, caseTimeoutMs, defaultConcurrency } from './runner.js';
export type { CaseResult, CatalogueResult, ClientEnv, ClientUnderTest, Verdict, RunCaseOptions } from './runner.js';
export { runProperties, conformanceScenarioArbitrary, conformanceUploadScenarioArbitrary, conformanceRunArbitrary, parseShrinkBudget, DEFAULT_SHRINK_BUDGET } from './properties.js';
export type { PropertyOptions, PropertyResult, ShrinkBudget } from './properties.js';
export { CLIENT_INVARIANTS, parseObservations, wireSpans } from './client-invariants.js';
export type { ClientInvariant, ClientRun, Observation } from './client-invariants.js';
export { SERVER_INVARIANTS, checkTrace } from './invariants.js';
export type { Invariant, Violation, Severity, CheckResult } from './invariants.js';
export { UPLOAD_INVARIANTS } from './upload-invariants.js';
export { uploadsFromRecording } from './uploads.js';
export type { UploadExchange } from './uploads.js';
export { tracesFromRecording, traceFromRecordedStream, refusedUpgradesFromRecording } from './trace.js';
export type { Trace, TraceFrame, RefusedUpgrade } from './trace.js';
export { caseReporter, consoleLine, consoleMatrix, consoleSummary, jsonReport, junitReport } from './reports.js';
export { htmlReport, matrixHtmlReport } from './html-report.js';
export type { HtmlReportOptions } from './html-report.js';
export { runMatrix, writeMatrixReports } from './matrix.js';
export type { MatrixClient, MatrixOptions, MatrixResult } from './matrix.js';

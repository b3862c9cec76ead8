// Checks KQL queries with Microsoft's Kusto language service (@kusto/language-service-next)
// against the SecurityIncident schema: each must parse and bind with no diagnostics.
//
// Input (stdin): a JSON array of {"name": "...", "query": "..."}.
// Output (stdout): a JSON array of {"name", "diagnostics": ["Error KS142 ...", ...]}.
// The schema is the Azure Monitor Logs reference for SecurityIncident
// (learn.microsoft.com/azure/azure-monitor/reference/tables/securityincident).

require("@kusto/language-service-next/bridge");
require("@kusto/language-service-next/Kusto.Language.Bridge");

const COLUMNS = [
  "TenantId:string", "TimeGenerated:datetime", "IncidentName:string", "Title:string",
  "Description:string", "Severity:string", "Status:string", "Classification:string",
  "ClassificationComment:string", "ClassificationReason:string", "Owner:dynamic",
  "ProviderName:string", "ProviderIncidentId:string", "FirstActivityTime:datetime",
  "LastActivityTime:datetime", "FirstModifiedTime:datetime", "CreatedTime:datetime",
  "LastModifiedTime:datetime", "ClosedTime:datetime", "IncidentNumber:int",
  "RelatedAnalyticRuleIds:dynamic", "AlertIds:dynamic", "BookmarkIds:dynamic",
  "Comments:dynamic", "Tasks:dynamic", "Labels:dynamic", "IncidentUrl:string",
  "AdditionalData:dynamic", "ModifiedBy:string", "SourceSystem:string", "Type:string",
];

const language = Kusto.Language;
const table = language.Symbols.TableSymbol.From(`(${COLUMNS.join(", ")})`).WithName("SecurityIncident");
const database = new language.Symbols.DatabaseSymbol.ctor("workspace", [table]);
const globals = language.GlobalState.Default.WithDatabase(database);

const input = require("fs").readFileSync(0, "utf8");
const results = JSON.parse(input).map(({ name, query }) => {
  const code = language.KustoCode.ParseAndAnalyze(query, globals);
  const diagnostics = Bridge.toArray(code.GetDiagnostics()).map(
    (it) => `${it.Severity} ${it.Code} ${it.Message} (at ${it.Start})`,
  );
  return { name, diagnostics };
});
process.stdout.write(JSON.stringify(results));

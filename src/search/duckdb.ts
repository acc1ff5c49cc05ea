/**
 * DuckDB is a native addon that bundles keep external. Loading it on first use keeps it out of
 * the Lambda bundles' top-level imports (esbuild hoists static imports of externals), where it
 * would fail at cold start although no handler uses it.
 */
export const loadDuckDB = () => import('@duckdb/node-api');

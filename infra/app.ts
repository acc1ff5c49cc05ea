/**
 * `npm run synth`: bundles each example stack's handler for its config (infra/bundle.ts) and
 * writes the CloudFormation templates and assets to cdk.out/, checked by cdk-nag (AwsSolutions).
 * Deploy with the CDK CLI: `npx aws-cdk deploy --app cdk.out logferry-duo-pull`.
 *
 *   --commons NAME           prefix of the central-logging stream and destination (default: logferry)
 *   --child-accounts IDS     comma-separated account ids allowed to subscribe (default: the example)
 *   --log-groups NAMES       comma-separated log groups the child stack subscribes
 *   --out DIR                instead of cdk.out/
 */
import { readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { Code } from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks } from 'cdk-nag';
import { bundleLambda, configShape, ROOT } from './bundle.js';
import type { HandlerName } from './function.js';
import { EXAMPLE_STACKS, exampleStacks } from './stacks.js';

function option(name: string, dflt: string): string {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1]! : dflt;
}

const outdir = resolve(option('--out', join(ROOT, 'cdk.out')));
const bundles = join(ROOT, '.tmp', 'bundles');
const built = new Map<string, string>();
for (const { config, handler, transform } of Object.values(EXAMPLE_STACKS)) {
  const cfg = configShape(await readFile(config, 'utf8'), config);
  for (const h of transform ? [handler, 'firehose' as const] : [handler]) {
    const dir = join(bundles, `${basename(config, '.yaml')}-${h}`);
    const r = await bundleLambda({
      handler: h,
      outdir: dir,
      mapdir: join(bundles, 'maps', basename(dir)),
      config: cfg,
      rulesBase: ROOT,
    });
    process.stderr.write(
      `bundle ${basename(dir)}: ${(r.bytes / 1024).toFixed(0)} KiB${r.rules.length ? `, ${r.rules.length} rule files` : ''}\n`,
    );
    built.set(`${config}:${h}`, dir);
  }
}

const app = new App({ outdir });
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
exampleStacks(
  app,
  (config: string, handler: HandlerName) => Code.fromAsset(built.get(`${config}:${handler}`)!),
  {
    commons: option('--commons', 'logferry'),
    childAccounts: option('--child-accounts', '111111111111,222222222222').split(','),
    childLogGroups: option('--log-groups', '/aws/vpc/flow-logs,CloudTrail/logs').split(','),
  },
);
app.synth();
process.stderr.write(`templates in ${outdir}\n`);

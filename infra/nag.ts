import { Stack, Validations } from 'aws-cdk-lib';
import { CfnPolicy, type Role } from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';

/** Acknowledges a cdk-nag finding on a construct and everything below it (cdk-nag 3 matches exact ids). */
export function acknowledge(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}

const reviewed = new Map<Role, string>();

/**
 * Marks a role whose wildcards were written on purpose (object prefixes, log streams, a secret's
 * random suffix). Each wildcard is acknowledged by its own finding id when the stack is
 * finished, so a wildcard added later to the same role still fails the check.
 */
export function reviewedWildcards(role: Role, reason: string): void {
  reviewed.set(role, reason);
}

/** How cdk-nag prints a resolved value: `<Logical.Arn>`, `<Ref>`, joins concatenated. */
function render(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (typeof o.Ref === 'string') return `<${o.Ref}>`;
    if (Array.isArray(o['Fn::GetAtt'])) return `<${(o['Fn::GetAtt'] as string[]).join('.')}>`;
    if (Array.isArray(o['Fn::Join'])) {
      const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
      return parts.map(render).join(sep);
    }
  }
  return JSON.stringify(v);
}

/** The IAM5 findings of the reviewed roles' policies, acknowledged one by one. */
export function acknowledgeReviewedWildcards(stack: Stack): void {
  for (const [role, reason] of reviewed) {
    if (Stack.of(role) !== stack) continue;
    for (const c of role.node.findAll()) {
      if (!(c instanceof CfnPolicy)) continue;
      const doc = stack.resolve(c.policyDocument) as { Statement: { Action: unknown; Resource: unknown }[] };
      for (const s of doc.Statement) {
        const list = (x: unknown) => (Array.isArray(x) ? x : [x]);
        for (const a of list(s.Action).map(render))
          if (a.includes('*')) acknowledge(role, `AwsSolutions-IAM5[Action::${a}]`, reason);
        for (const r of list(s.Resource).map(render))
          if (r.includes('*')) acknowledge(role, `AwsSolutions-IAM5[Resource::${r}]`, reason);
      }
    }
  }
}

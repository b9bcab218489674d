import type * as iam from 'aws-cdk-lib/aws-iam';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';

/** Like LambdaInvoke, but the Scheduler's role may invoke the function itself only, not its versions and aliases. */
export class InvokeExactFunction extends targets.LambdaInvoke {
  readonly #target: lambda.IFunction;

  constructor(target: lambda.IFunction, props: targets.ScheduleTargetBaseProps) {
    super(target, props);
    this.#target = target;
  }

  protected override addTargetActionToRole(role: iam.IRole): void {
    role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [this.#target.functionArn] }),
    );
  }
}

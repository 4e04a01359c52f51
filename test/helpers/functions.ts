import {
  AddPermissionCommand,
  CreateFunctionCommand,
  type CreateFunctionCommandInput,
  type CreateFunctionCommandOutput,
  type LambdaClient,
} from '@aws-sdk/client-lambda';

/** The execution role test functions are created with (Kumo records it and assumes nothing). */
export const TEST_ROLE = 'arn:aws:iam::000000000000:role/kumo-test';

/**
 * CreateFunction for a Node.js function from a zip: nodejs20.x, handler `index.handler`,
 * `TEST_ROLE`; `extra` adds to or overrides any of it.
 */
export function createNodeFunction(
  lambda: LambdaClient,
  name: string,
  zip: Buffer,
  extra: Partial<CreateFunctionCommandInput> = {},
): Promise<CreateFunctionCommandOutput> {
  return lambda.send(
    new CreateFunctionCommand({
      FunctionName: name,
      Runtime: 'nodejs20.x',
      Handler: 'index.handler',
      Role: TEST_ROLE,
      Code: { ZipFile: zip },
      ...extra,
    }),
  );
}

/**
 * The two resource-policy statements a public (AuthType NONE) function URL needs since October
 * 2025: lambda:InvokeFunctionUrl with FunctionUrlAuthType NONE, and lambda:InvokeFunction with
 * InvokedViaFunctionUrl, both for everyone (the statement ids the Lambda console uses).
 */
export async function allowPublicUrl(lambda: LambdaClient, name: string): Promise<void> {
  await lambda.send(
    new AddPermissionCommand({
      FunctionName: name,
      StatementId: 'FunctionURLAllowPublicAccess',
      Action: 'lambda:InvokeFunctionUrl',
      Principal: '*',
      FunctionUrlAuthType: 'NONE',
    }),
  );
  await lambda.send(
    new AddPermissionCommand({
      FunctionName: name,
      StatementId: 'FunctionURLAllowInvokeAction',
      Action: 'lambda:InvokeFunction',
      Principal: '*',
      InvokedViaFunctionUrl: true,
    }),
  );
}

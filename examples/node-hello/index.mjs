// A Node.js handler as an ES module: the file ends in .mjs, so no package.json is needed.
// Deploy with handler "index.handler" on nodejs20.x or nodejs22.x.

export const handler = async (event, context) => {
  const name = typeof event?.name === 'string' && event.name !== '' ? event.name : 'world';
  // Everything written to stdout or stderr lands in the log group /aws/lambda/<function name>.
  console.log(`Saying hello to ${name} (request ${context.awsRequestId})`);
  return { message: `Hello, ${name}!` };
};

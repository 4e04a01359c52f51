// A Node.js handler in CommonJS, callback style: Lambda's original handler signature, still
// supported for non-async functions. Deploy with handler "index.handler".
'use strict';

exports.handler = (event, context, callback) => {
  const name = event && typeof event.name === 'string' && event.name !== '' ? event.name : 'world';
  console.log(`Saying hello to ${name} from ${context.functionName}`);
  if (name.length > 100) {
    // An error passed to the callback becomes the invocation's FunctionError.
    callback(new RangeError('name is longer than 100 characters'));
    return;
  }
  callback(null, { message: `Hello, ${name}!`, style: 'callback' });
};

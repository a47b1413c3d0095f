// One load run with autocannon (bench/read_path.py): options as JSON on stdin, result as JSON on
// stdout. A response whose body carries GraphQL "errors" counts as a mismatch, so a figure is
// only taken from answers that were right.
'use strict'
const autocannon = require('autocannon')

let input = ''
process.stdin.setEncoding('utf8')
process.stdin.on('data', (chunk) => { input += chunk })
process.stdin.on('end', () => {
  const o = JSON.parse(input)
  autocannon({
    url: o.url,
    method: 'POST',
    connections: o.connections,
    duration: o.duration,
    timeout: o.timeout,
    headers: o.headers,
    body: o.body,
    verifyBody: (body) => !String(body).includes('"errors"')
  }, (err, result) => {
    if (err) {
      console.error(err)
      process.exit(1)
    }
    process.stdout.write(JSON.stringify(result))
  })
})

/**
 * The partition key values a DynamoDB request (its JSON body) names: what IAM's `dynamodb:LeadingKeys` condition is
 * evaluated on. A request that names none (a Scan) yields `(none)`; a query of an index yields `<index>:<value>`.
 */
export function partitionKeysOf(body: string, partitionKey = 'pk'): string[] {
  type Attr = Record<string, { S?: string } | undefined>;
  let request: {
    Key?: Attr;
    Item?: Attr;
    IndexName?: string;
    KeyConditionExpression?: string;
    ExpressionAttributeNames?: Record<string, string>;
    ExpressionAttributeValues?: Attr;
    RequestItems?: Record<string, { PutRequest?: { Item: Attr }; DeleteRequest?: { Key: Attr } }[] | { Keys: Attr[] }>;
    TransactItems?: Record<string, { Key?: Attr; Item?: Attr }>[];
  };
  try {
    request = JSON.parse(body) as typeof request;
  } catch {
    return [];
  }
  const of = (attrs: Attr | undefined) => attrs?.[partitionKey]?.S;
  const found: (string | undefined)[] = [of(request.Key), of(request.Item)];
  if (request.KeyConditionExpression) {
    const names = Object.entries(request.ExpressionAttributeNames ?? {});
    for (const [placeholder, name] of names) {
      if (request.IndexName ? !name.endsWith(partitionKey) : name !== partitionKey) continue;
      const value = new RegExp(`${placeholder}\\s*=\\s*(:\\w+)`).exec(request.KeyConditionExpression)?.[1];
      const key = value ? request.ExpressionAttributeValues?.[value]?.S : undefined;
      if (key) found.push(request.IndexName ? `${request.IndexName}:${key}` : key);
    }
  }
  for (const items of Object.values(request.RequestItems ?? {})) {
    if (Array.isArray(items)) for (const w of items) found.push(of(w.PutRequest?.Item), of(w.DeleteRequest?.Key));
    else for (const k of items.Keys) found.push(of(k));
  }
  for (const t of request.TransactItems ?? []) for (const op of Object.values(t)) found.push(of(op.Key), of(op.Item));
  const keys = found.filter((k): k is string => k !== undefined);
  return keys.length > 0 ? keys : ['(none)'];
}

/**
 * Where the control plane may run. One control region keeps a regional table; two run active-active on a DynamoDB
 * global table with multi-Region strong consistency (MRSC), which AWS offers only inside one of these sets, with
 * exactly three regions: the two control regions (replicas) and a witness (docs/architecture.md, "Control regions").
 */
export const MRSC_REGION_SETS = {
  US: ['us-east-1', 'us-east-2', 'us-west-2'],
  EU: ['eu-west-1', 'eu-west-2', 'eu-west-3', 'eu-central-1'],
  AP: ['ap-northeast-1', 'ap-northeast-2', 'ap-northeast-3'],
} as const satisfies Record<string, readonly string[]>;

/** The MRSC region set holding `region`, if any. */
export function mrscSetOf(region: string): keyof typeof MRSC_REGION_SETS | undefined {
  for (const [name, regions] of Object.entries(MRSC_REGION_SETS))
    if ((regions as readonly string[]).includes(region)) return name as keyof typeof MRSC_REGION_SETS;
  return undefined;
}

/** What `regions.control` and `regions.witness` say, read from the raw document; problems name the field. */
export function controlRegionProblems(
  control: unknown,
  witness: unknown,
): { path: (string | number)[]; message: string }[] {
  const out: { path: (string | number)[]; message: string }[] = [];
  const list = Array.isArray(control) ? control.filter((r): r is string => typeof r === 'string') : [];
  if (list.length > 2) return out;
  if (!Array.isArray(control) || list.length < 2) {
    if (witness !== undefined)
      out.push({
        path: ['regions', 'witness'],
        message: 'a witness is only for two control regions (control: [a, b])',
      });
    return out;
  }
  const [primary, standby] = list as [string, string];
  if (primary === standby) {
    out.push({
      path: ['regions', 'control', 1],
      message: `duplicate region "${standby}": name two different control regions`,
    });
    return out;
  }
  const known = Object.entries(MRSC_REGION_SETS)
    .map(([name, regions]) => `${name}: ${regions.join(', ')}`)
    .join('; ');
  const set = mrscSetOf(primary);
  if (!set) {
    out.push({
      path: ['regions', 'control', 0],
      message: `"${primary}" cannot hold a strongly consistent global table; two control regions must be in one of (${known})`,
    });
    return out;
  }
  if (mrscSetOf(standby) !== set)
    out.push({
      path: ['regions', 'control', 1],
      message: `"${standby}" is not in the ${set} region set of "${primary}" (${MRSC_REGION_SETS[set].join(', ')})`,
    });
  if (typeof witness !== 'string') {
    const free = MRSC_REGION_SETS[set].filter((r) => r !== primary && r !== standby);
    out.push({
      path: ['regions'],
      message: `two control regions need a witness region for the state table: one of ${free.join(', ')}`,
    });
  } else if (witness === primary || witness === standby) {
    out.push({
      path: ['regions', 'witness'],
      message: `the witness "${witness}" must differ from both control regions`,
    });
  } else if (mrscSetOf(witness) !== set) {
    out.push({
      path: ['regions', 'witness'],
      message: `"${witness}" is not in the ${set} region set of the control regions (${MRSC_REGION_SETS[set].join(', ')})`,
    });
  }
  return out;
}

import { GetParameterCommand, PutParameterCommand, SSMClient, type SSMClientConfig } from '@aws-sdk/client-ssm';

/** The settings document's parameter in the stack the local cloud deploys. */
export const SETTINGS_PARAMETER = 'stagecrew-SettingsParameter';

/** Edits the settings document as an operator would: read it, change it with `edit`, write it back. */
export const editSettings = async (
  clientConfig: SSMClientConfig,
  /** Gets the parsed document (as JSON.parse types it: untyped), changes it in place. */
  edit: (settings: ReturnType<typeof JSON.parse>) => void,
): Promise<void> => {
  const ssm = new SSMClient(clientConfig);
  const read = await ssm.send(new GetParameterCommand({ Name: SETTINGS_PARAMETER }));
  const settings = JSON.parse(read.Parameter?.Value ?? '{}');
  edit(settings);
  await ssm.send(
    new PutParameterCommand({
      Name: SETTINGS_PARAMETER,
      Value: JSON.stringify(settings),
      Type: 'String',
      Overwrite: true,
    }),
  );
};
